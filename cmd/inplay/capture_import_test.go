package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// sharedBetfair is ../shared/data/betfair beside the repository; the test
// skips, saying so, when it is absent.
func sharedBetfair(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "betfair")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the shared Betfair data is not here (%v); it lives in ../shared/data beside the repository", err)
	}
	return dir
}

func TestCaptureImportBetfair(t *testing.T) {
	dir := sharedBetfair(t)
	odds := filepath.Join(dir, "cricket-match-odds-1.200806927.jsonl")
	score := filepath.Join(dir, "cricket-score-feed-1.200806927.jsonl")
	out := filepath.Join(t.TempDir(), "cricket.jsonl.gz")
	var stdout, stderr bytes.Buffer
	code := run([]string{"capture", "import", "--format", "betfair", odds, score, "-o", out, "--from", "inplay-10m", "--name", "nl-png"}, &stdout, &stderr)
	if code != exitPass {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	c, err := replay.OpenCapture(out) // gzipped, as the name asks
	if err != nil {
		t.Fatal(err)
	}
	if c.Header.Name != "nl-png" || c.Header.Source != "betfair" || len(c.Events) == 0 {
		t.Fatalf("header %+v, %d events", c.Header, len(c.Events))
	}
	kinds := map[replay.Kind]int{}
	for _, e := range c.Events {
		kinds[e.Kind]++
	}
	if kinds[replay.KindOdds] == 0 || kinds[replay.KindStatus] == 0 || kinds[replay.KindResult] != 1 || kinds[replay.KindIncident] == 0 {
		t.Errorf("events by kind %v", kinds)
	}
	summary := stdout.String()
	for _, want := range []string{"Imported 2 files", "18529 mcm", "2170 ccm", out, "incident", "lasting 3h57m", "folded", "0 bad lines skipped"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Count(strings.TrimSpace(summary), "\n") != 0 {
		t.Errorf("the summary is not one paragraph:\n%s", summary)
	}
	// No temporary file is left beside the capture.
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("the output folder holds %d files", len(entries))
	}
}

func TestCaptureImportBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	content := `{"op":"mcm","pt":1000,"mc":[{"id":"1.1","marketDefinition":{"status":"OPEN","runners":[{"id":7,"status":"ACTIVE"}]}}]}
{"op":"mcm","pt":1001,"mc":[{"id":"1.1","rc":[{"id":7,"atb":[[2]]}]}]}
{"op":"mcm","pt":1002,"mc":[{"id":"1.1","rc":[{"id":7,"ltp":2.5}]}]}
`
	if err := os.WriteFile(bad, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"a bad line names its file and line", []string{bad, "-o", out}, exitInput, bad + " line 2: mc[0]: rc[0].atb[0] has 1 numbers"},
		{"a missing file", []string{filepath.Join(dir, "nope.jsonl"), "-o", out}, exitInput, "nope.jsonl"},
		{"an unknown format", []string{"--format", "sportradar", bad, "-o", out}, exitInput, `--format "sportradar"`},
		{"no -o", []string{bad}, exitInput, "-o OUT is required"},
		{"a bad window", []string{bad, "-o", out, "--from", "inplay-10m"}, exitInput, "no market in these files turns in play"},
		{"an output that cannot be written", []string{bad, "-o", filepath.Join(dir, "no", "such", "dir", "out.jsonl"), "--skip-bad"}, exitInput, "no such file"}, // as run --out and capture generate -o: the flag is at fault,
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"capture", "import"}, tt.args...)
			if !strings.Contains(strings.Join(args, " "), "--format") {
				args = append(args, "--format", "betfair")
			}
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed import left %s", out)
			}
		})
	}
	// --skip-bad counts the line and goes on.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"capture", "import", "--format", "betfair", bad, "-o", out, "--skip-bad"}, &stdout, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "1 bad line skipped (the first: "+bad+" line 2") {
		t.Errorf("summary: %s", stdout.String())
	}
	c, err := replay.OpenCapture(out)
	if err != nil || len(c.Events) != 2 {
		t.Fatalf("capture %+v, %v", c, err)
	}
}

// --bettors overlays a population on a vendor's recording, which has odds
// but no bets: the capture then carries the bettors' events, the same flags
// give the same bytes, and flags without --bettors, or bad ones, are bad
// input.
func TestCaptureImportBettors(t *testing.T) {
	dir := sharedBetfair(t)
	odds := filepath.Join(dir, "cricket-match-odds-1.200806927.jsonl")
	tmp := t.TempDir()
	imp := func(out string, extra ...string) (int, string) {
		args := append([]string{"capture", "import", "--format", "betfair", odds, "-o", out, "--from", "inplay-10m"}, extra...)
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	flags := []string{"--bettors", "200", "--bettor-rate", "30", "--max-stake", "5000", "--seed", "7", "--policy-mix", "50/30/20"}
	a, b := filepath.Join(tmp, "a.jsonl"), filepath.Join(tmp, "b.jsonl")
	for _, out := range []string{a, b} {
		if code, msg := imp(out, flags...); code != exitPass {
			t.Fatalf("exit %d: %s", code, msg)
		} else if !strings.Contains(msg, "Overlaid 200 bettors (seed 7") {
			t.Errorf("summary: %s", msg)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("the same files and flags gave different bytes")
	}
	c, err := replay.OpenCapture(a)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[replay.Kind]int{}
	policies := map[string]int{}
	for _, e := range c.Events {
		kinds[e.Kind]++
		if e.Kind == replay.KindBet {
			policies[string(e.Policy)]++
			if !strings.HasPrefix(e.Account, "ov-") || e.Stake < 1 || e.Stake > 5000 {
				t.Fatalf("bet %+v", e)
			}
		}
	}
	if kinds[replay.KindBet] < 100 || kinds[replay.KindDeposit] == 0 || kinds[replay.KindOdds] == 0 {
		t.Errorf("events by kind %v", kinds)
	}
	if len(policies) != 3 {
		t.Errorf("bets by policy %v; want all three of the 50/30/20 mix", policies)
	}

	out := filepath.Join(tmp, "bad.jsonl")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--bettor-rate", "30"}, "--bettor-rate is a bettor overlay flag: it needs --bettors N"},
		{[]string{"--bettors", "10", "--max-stake", "100"}, "rate is 0"},
		{[]string{"--bettors", "10", "--bettor-rate", "30", "--max-stake", "100", "--policy-mix", "60/30"}, `--policy-mix "60/30"`},
		{[]string{"--bettors", "10", "--bettor-rate", "30", "--max-stake", "100", "--policy-mix", "60/30/20"}, "sum to 100"},
		{[]string{"--bettors", "10", "--bettor-rate", "30", "--max-stake", "100", "--bettor-prefix", "a b"}, "prefix"},
	} {
		if code, msg := imp(out, tt.args...); code != exitInput || !strings.Contains(msg, tt.want) {
			t.Errorf("%v: exit %d, %q; want exit 3 and %q", tt.args, code, msg, tt.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: a refused import left %s", tt.args, out)
		}
	}
}
