package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestK6Export(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "smoke.js")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"k6", "export", "../../scenarios/catalog/smoke.yaml", "-o", script}, &stdout, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	js, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "smoke.requests.json"))
	if err != nil {
		t.Fatalf("no requests file beside the script: %v", err)
	}
	var reqs [][3]string
	if err := json.Unmarshal(data, &reqs); err != nil || len(reqs) == 0 {
		t.Fatalf("requests file: %v, %d requests", err, len(reqs))
	}
	if !strings.Contains(string(js), `open("./smoke.requests.json")`) {
		t.Error("the script does not open its requests file by its name")
	}
	for _, w := range []string{"k6 run --out json=results.json", "inplay k6 import results.json --scenario", "not exported: settlement_lag"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}

	// --inline: one file, no requests file.
	inline := filepath.Join(dir, "inline.js")
	if code := run([]string{"k6", "export", "../../scenarios/catalog/smoke.yaml", "-o", inline, "--inline"}, &stdout, &stderr); code != exitPass {
		t.Fatalf("--inline: exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "inline.requests.json")); !os.IsNotExist(err) {
		t.Errorf("--inline wrote a requests file (%v)", err)
	}
	if b, _ := os.ReadFile(inline); strings.Contains(string(b), "open(") || !strings.Contains(string(b), `"`+reqs[0][1]+`"`) {
		t.Error("--inline script does not hold the requests itself")
	}
}

func TestK6ImportExitCodes(t *testing.T) {
	dir := t.TempDir()
	// smoke's SLOs, with an error rate the fixture's 4.35% meets.
	smoke, err := os.ReadFile("../../scenarios/catalog/smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lenient := filepath.Join(dir, "lenient.yaml")
	if err := os.WriteFile(lenient, bytes.Replace(smoke, []byte("max: 0.5%"), []byte("max: 5%"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	fixture := "../../replay/k6/testdata/results.ndjson"
	good, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	lines := strings.SplitAfterN(string(good), "\n", 4)
	if err := os.WriteFile(bad, []byte(lines[0]+lines[1]+"{not json\n"+lines[3]), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		// The fixture's error rate, 2 unknown of 46, breaches smoke's 0.5%.
		{"smoke breached", []string{"k6", "import", fixture, "--scenario", "../../scenarios/catalog/smoke.yaml"}, exitSLO,
			[]string{"FAIL (exit 1)", "| error_rate | all | max <= 0.5% |", "not measured by k6: settlement_lag", "| bet | 40 | 39 | 1 | 0 |"}, nil},
		{"lenient passes", []string{"k6", "import", fixture, "--scenario", lenient}, exitPass,
			[]string{"PASS (exit 0)", "| bet_acceptance | steady | p99 <= 250ms |"}, nil},
		// A bad line names the file and the line, and says how to go on.
		{"bad line", []string{"k6", "import", bad, "--scenario", lenient}, exitInput,
			nil, []string{"bad.json:3: ", "--skip-bad"}},
		{"skip bad", []string{"k6", "import", bad, "--scenario", lenient, "--skip-bad"}, exitPass,
			[]string{"1 bad lines of the results were skipped"}, nil},
		{"no scenario", []string{"k6", "import", fixture}, exitInput, nil, []string{"--scenario is required"}},
		{"no results file", []string{"k6", "import", filepath.Join(dir, "nope.json"), "--scenario", lenient}, exitInput, nil, []string{"nope.json"}},
		{"export without -o", []string{"k6", "export", lenient}, exitInput, nil, []string{"-o is required"}},
		{"export bad scenario", []string{"k6", "export", "testdata/bad.yaml", "-o", filepath.Join(dir, "x.js")}, exitInput, nil, []string{`unknown key "turbo"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}
