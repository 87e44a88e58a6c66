package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShrinkRefuses checks what shrink refuses, exit 3 with the reason,
// before it runs anything (no services needed).
func TestShrinkRefuses(t *testing.T) {
	passed := t.TempDir()
	if err := os.WriteFile(filepath.Join(passed, "report.json"), []byte(`{"schema":"inplay.report/v1","verdict":"pass","exit_code":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	invalid := t.TempDir()
	if err := os.WriteFile(filepath.Join(invalid, "report.json"), []byte(`{"schema":"inplay.report/v1","verdict":"invalid","exit_code":5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		// Not a run's folder.
		{"no report", []string{"shrink", t.TempDir()}, "report.json"},
		// Nothing failed, so nothing to shrink.
		{"passed", []string{"shrink", passed}, "passed"},
		// An invalid measurement is the harness's, not a fault's.
		{"invalid", []string{"shrink", invalid}, "invalid (exit 5)"},
		// A bound of no runs is a bad flag.
		{"max-runs 0", []string{"shrink", passed, "--max-runs", "0"}, "--max-runs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != exitInput {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitInput, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func TestShrinkHelp(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"shrink", "--help"}, []string{"--out", "--max-runs", "Exit codes", "minimal.yaml", "ddmin"}},
		{[]string{"run", "--help"}, []string{"--shrink", "--shrink-max-runs"}},
		{[]string{"--help"}, []string{"shrink"}},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != exitPass {
			t.Fatalf("%v: exit %d: %s", tt.args, code, stderr.String())
		}
		for _, w := range tt.wants {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%v lacks %s", tt.args, w)
			}
		}
	}
}
