package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// TestCaptureGenerateIsDeterministic: two runs with the same seed write the
// same bytes, plain or gzipped, and what they write reads back.
func TestCaptureGenerateIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	gen := func(name string, seed string) []byte {
		t.Helper()
		path := filepath.Join(dir, name)
		var stdout, stderr bytes.Buffer
		args := []string{"capture", "generate", "--profile", "football", "--matches", "2", "--bettors", "200",
			"--duration", "5m", "--seed", seed, "-o", path}
		if code := run(args, &stdout, &stderr); code != exitPass {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "bet ") {
			t.Errorf("stdout does not count the bets: %s", stdout.String())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a, b := gen("a.jsonl", "7"), gen("b.jsonl", "7")
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed wrote different bytes")
	}
	if bytes.Equal(a, gen("c.jsonl", "8")) {
		t.Fatal("different seeds wrote the same bytes")
	}
	za, zb := gen("a.jsonl.gz", "7"), gen("b.jsonl.gz", "7")
	if !bytes.Equal(za, zb) {
		t.Fatal("two gzipped runs with the same seed wrote different bytes")
	}
	zr, err := gzip.NewReader(bytes.NewReader(za))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, a) {
		t.Fatalf("the .gz holds other bytes than the plain file (%v)", err)
	}
	c, err := replay.OpenCapture(filepath.Join(dir, "a.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Header.Seed != 7 || len(c.Events) == 0 {
		t.Fatalf("header %+v, %d events", c.Header, len(c.Events))
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(entries) > 0 {
		t.Errorf("temporary files left: %v", entries)
	}

	// -o - writes the same bytes to stdout.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"capture", "generate", "--matches", "2", "--bettors", "200", "--duration", "5m", "--seed", "7", "-o", "-"}, &stdout, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), a) {
		t.Fatal("-o - wrote other bytes than -o FILE")
	}

	// --corrections: each match's settlement is rolled back and resettled.
	stdout.Reset()
	if code := run([]string{"capture", "generate", "--matches", "2", "--bettors", "200", "--duration", "5m", "--seed", "7", "--corrections", "-o", "-"}, &stdout, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := bytes.Count(stdout.Bytes(), []byte(`"kind":"rollback"`)); n != 2 {
		t.Fatalf("--corrections wrote %d rollbacks, want one a match", n)
	}
	if !strings.Contains(stderr.String(), "rollback 2") {
		t.Errorf("summary %q does not count the rollbacks", stderr.String())
	}
}

func TestCaptureGenerateBadFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.jsonl")
	tests := []struct {
		name string
		args []string
		want []string // every one must appear in stderr
	}{
		// Every problem at once.
		{"bad values", []string{"--profile", "tennis", "--matches", "0", "--bettors", "-1", "--duration", "10s", "-o", out},
			[]string{`--profile "tennis"`, "--matches is 0", "--bettors is -1", "--duration is 10s"}},
		{"no output", nil, []string{"-o is required"}},
		{"a duration without a unit", []string{"--duration", "60", "-o", out}, []string{"duration"}},
		{"an unknown flag", []string{"--turbo", "-o", out}, []string{"turbo"}},
		{"an argument", []string{"extra", "-o", out}, []string{"extra"}},
		{"a folder that does not exist", []string{"-o", filepath.Join(dir, "nope", "x.jsonl")}, []string{"nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"capture", "generate"}, tt.args...), &stdout, &stderr)
			if code != exitInput {
				t.Fatalf("exit %d, want %d: %s", code, exitInput, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a file was written")
			}
		})
	}
}
