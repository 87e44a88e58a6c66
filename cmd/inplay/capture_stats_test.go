package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// statsCapture writes a small capture to dir: two markets, one pre-match
// bet and three in-play ones, the bettors' busiest second the third.
func statsCapture(t *testing.T, dir string, gz bool) string {
	t.Helper()
	yes, no := true, false
	c := &replay.Capture{
		Header: replay.Header{Capture: replay.CaptureVersion, Name: "derby", Source: "recorded", StartMS: 1_700_000_000_000},
		Events: []replay.Event{
			{T: 0, Kind: replay.KindStatus, Market: "m1", Status: replay.StatusOpen, InPlay: &no, Producer: "prematch"},
			{T: 10, Kind: replay.KindDeposit, Account: "a1", ID: "d1", Amount: 10_000},
			{T: 500_000, Kind: replay.KindBet, Account: "a1", ID: "b1", Market: "m1", Selection: "home", Odds: "2.1", Stake: 100},
			{T: 1_000_000, Kind: replay.KindStatus, Market: "m1", Status: replay.StatusOpen, InPlay: &yes, Producer: "live"},
			{T: 1_100_000, Kind: replay.KindOdds, Market: "m2", Prices: map[string]string{"home": "1.5"}, Producer: "live"},
			{T: 2_000_000, Kind: replay.KindBet, Account: "a1", ID: "b2", Market: "m1", Selection: "home", Odds: "2.1", Stake: 100},
			{T: 2_100_000, Kind: replay.KindBet, Account: "a2", ID: "b3", Market: "m1", Selection: "away", Odds: "3", Stake: 100},
			{T: 2_200_000, Kind: replay.KindBet, Account: "a2", ID: "b4", Market: "m1", Selection: "away", Odds: "3", Stake: 100},
			{T: 3_000_000, Kind: replay.KindIncident, Market: "m1", Incident: "goal", Producer: "live"},
		},
	}
	var buf bytes.Buffer
	if err := replay.WriteCapture(&buf, c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "derby.jsonl")
	data := buf.Bytes()
	if gz {
		path += ".gz"
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCaptureStatsText(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			path := statsCapture(t, t.TempDir(), gz)
			var stdout, stderr bytes.Buffer
			if code := run([]string{"capture", "stats", path}, &stdout, &stderr); code != exitPass {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			for _, want := range []string{
				`"derby", source recorded, recorded from 2023-11-14T22:13:20Z`,
				"duration   3s",
				"events     9: 4 feed, 5 bettor",
				"bet  4", "incident  1", "deposit  1",
				"peak feed  2/s in second 1",
				"peak bets  3/s in second 2 (t_us 2000000 to 3000000)",
				"markets    2", "accounts   2",
				"producers  2: live 3, prematch 1",
				"in play    75.0% of bets (3 in play, 1 pre-match, 0 on markets of unknown state)",
			} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

func TestCaptureStatsJSON(t *testing.T) {
	path := statsCapture(t, t.TempDir(), false)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"capture", "stats", "--json", path}, &stdout, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Events     int64            `json:"events"`
		ByKind     map[string]int64 `json:"by_kind"`
		PeakBettor replay.Peak      `json:"peak_bettor"`
		DurationUS int64            `json:"duration_us"`
		Share      *float64         `json:"in_play_share"`
		Header     replay.Header    `json:"header"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, stdout.String())
	}
	if got.Events != 9 || got.ByKind["bet"] != 4 || got.PeakBettor != (replay.Peak{Events: 3, Second: 2}) ||
		got.DurationUS != 3_000_000 || got.Share == nil || *got.Share != 0.75 || got.Header.Name != "derby" {
		t.Errorf("--json gave %+v", got)
	}
}

func TestCaptureStatsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"capture":"inplay/v1"}
{"t_us":0,"kind":"deposit","account":"a","id":"d","amount":5}
{"t_us":1,"kind":"bet","account":"a"
`), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		// A broken line is named, with the file.
		{"broken line", []string{"capture", "stats", bad}, "line 3: bad JSON"},
		// A missing file is bad input too, not an environment failure.
		{"missing file", []string{"capture", "stats", filepath.Join(dir, "nope.jsonl")}, "nope.jsonl"},
		// Exactly one file.
		{"no file", []string{"capture", "stats"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != exitInput {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInput, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}
