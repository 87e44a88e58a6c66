package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want []string // every one must appear in stderr
	}{
		// One message names every problem: the unknown key and the bad speed.
		{"unknown key and negative speed", []string{"run", "testdata/bad.yaml", "--out", t.TempDir()}, exitInput,
			[]string{"line 5: load.speed: must be greater than 0", `line 6: unknown key "turbo"`}},
		// validate says the same without running anything.
		{"validate reports the same", []string{"validate", "testdata/bad.yaml"}, exitInput,
			[]string{`unknown key "turbo"`, "load.speed"}},
		// A file that does not exist is bad input, not an environment failure.
		{"missing scenario", []string{"run", "testdata/nope.yaml"}, exitInput, []string{"nope.yaml"}},
		// Flags cobra does not know are bad input too.
		{"unknown flag", []string{"run", "--frobnicate", "x.yaml"}, exitInput, []string{"frobnicate"}},
		// Explicit URLs that point nowhere: exit 4, naming every way to get a stack.
		{"urls pointing nowhere", []string{"run", "../../scenarios/catalog/smoke.yaml", "--out", t.TempDir(),
			"--redis-url", "redis://127.0.0.1:1/0", "--postgres-url", "postgres://postgres@127.0.0.1:1/test?sslmode=disable",
			"--no-containers"}, exitEnv,
			[]string{"INPLAY_REDIS_URL", "127.0.0.1:6379", "Docker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func TestHelpDescribesEveryFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitPass {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "Exit codes") && args[0] == "--help" {
			t.Errorf("inplay --help does not document the exit codes:\n%s", stdout.String())
		}
		if args[0] == "run" {
			for _, flag := range []string{"--out", "--keep", "--redis-url", "--postgres-url", "--no-containers", "--verbose"} {
				if !strings.Contains(stdout.String(), flag) {
					t.Errorf("run --help lacks %s", flag)
				}
			}
		}
	}
}

func TestCatalogValidates(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/catalog/*.yaml")
	if len(files) == 0 {
		t.Fatal("no catalog scenarios found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"validate", f}, &stdout, &stderr); code != exitPass {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
		})
	}
}
