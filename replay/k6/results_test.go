package k6

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/reports"
)

// testdata/results.ndjson follows k6's documented JSON output
// (https://grafana.com/docs/k6/latest/results-output/real-time/json/) and
// the lines k6 v1.8.1 writes: Metric declarations, then Points of
// http_reqs, http_req_duration and http_req_failed for each request, with
// k6's system tags. It holds 40 bets (39 accepted from 10.25 to 47.25 ms
// and at 180.125 ms, one rejected with 422 at 60.5 ms), 4 deposits (one
// 503), a withdrawal that timed out (status 0, 5 s) and a cash-out, plus
// lines of metrics the import does not read (vus, http_reqs, ...).
func readFixture(t *testing.T) *Results {
	t.Helper()
	f, err := os.Open("testdata/results.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := ImportResults(f, ReadOptions{Source: "results.ndjson"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestImportResultsCounts(t *testing.T) {
	res := readFixture(t)
	want := map[string][4]int{ // requests, accepted, rejected, unknown
		"bet":      {40, 39, 1, 0},
		"deposit":  {4, 3, 0, 1},
		"withdraw": {1, 0, 0, 1},
		"cashout":  {1, 1, 0, 0},
	}
	if len(res.Kinds) != len(want) {
		t.Errorf("kinds %v, want %d", res.KindNames(), len(want))
	}
	for kind, w := range want {
		ks := res.Kinds[kind]
		if ks == nil {
			t.Errorf("no %s requests", kind)
			continue
		}
		if got := [4]int{ks.Requests, ks.Accepted, ks.Rejected, ks.Unknown}; got != w {
			t.Errorf("%s: requests/accepted/rejected/unknown %v, want %v", kind, got, w)
		}
		if int(ks.Latency.TotalCount()) != ks.Requests {
			t.Errorf("%s: %d latencies for %d requests", kind, ks.Latency.TotalCount(), ks.Requests)
		}
	}
	if got := res.Kinds["withdraw"].Latency.Max(); math.Abs(float64(got)-5_000_000) > 5_000 {
		t.Errorf("the timed-out withdrawal took %d µs, want about 5 s", got)
	}
	if res.Dropped != 0 || res.Untagged != 0 || res.BadLines != 0 {
		t.Errorf("dropped %d, untagged %d, bad %d; want none", res.Dropped, res.Untagged, res.BadLines)
	}
	if d := res.Last.Sub(res.First); d.Seconds() < 4.2 || d.Seconds() > 4.3 {
		t.Errorf("the requests span %s, want 4.25s", d)
	}
}

func TestImportResultsVerdict(t *testing.T) {
	res := readFixture(t)
	tests := []struct {
		name string
		objs []reports.Objective
		code int
		// observed is the first objective's observed value; 0 = not checked.
		observed float64
	}{
		// p99 of 40 bets is the slowest, 180.125 ms, within HDR's 3 digits.
		{"bet p99 met", []reports.Objective{{Metric: "bet_acceptance", Stat: "p99", Limit: 250}}, reports.ExitPass, 180.125},
		{"bet p99 breached", []reports.Objective{{Metric: "bet_acceptance", Stat: "p99", Limit: 100}}, reports.ExitSLOBreached, 180.125},
		{"bet p50 met", []reports.Objective{{Metric: "bet_acceptance", Stat: "p50", Limit: 30, Phase: "steady"}}, reports.ExitPass, 29.25},
		// 2 unknown outcomes (a 503 and a timeout) of 46 requests: 4.35%.
		{"error rate met", []reports.Objective{{Metric: "error_rate", Stat: "max", Limit: 5}}, reports.ExitPass, 200.0 / 46},
		{"error rate breached", []reports.Objective{{Metric: "error_rate", Stat: "max", Limit: 0.5}}, reports.ExitSLOBreached, 200.0 / 46},
		// What k6 cannot measure is left out of the verdict, not failed.
		{"settlement lag not judged", []reports.Objective{
			{Metric: "bet_acceptance", Stat: "p99", Limit: 250},
			{Metric: "settlement_lag", Stat: "p99", Limit: 1},
			{Metric: "bet_acceptance", Stat: "p99", Limit: 1, Phase: "fault"},
		}, reports.ExitPass, 180.125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := res.Evaluate(Scenario{Name: "fixture", Objectives: tt.objs})
			if r.ExitCode != tt.code {
				t.Fatalf("exit %d, want %d: %+v", r.ExitCode, tt.code, r.SLOs)
			}
			if len(r.SLOs) == 0 || r.SLOs[0].Observed == nil {
				t.Fatalf("no observed value: %+v", r.SLOs)
			}
			if got := *r.SLOs[0].Observed; math.Abs(got-tt.observed) > tt.observed/1000 {
				t.Errorf("observed %g, want %g", got, tt.observed)
			}
			if r.Load.Sent != 46 || r.Load.Bets.Accepted != 39 || r.Load.Bets.Rejected != 1 {
				t.Errorf("load %+v", r.Load)
			}
			notMeasured := 0
			for _, p := range r.Problems {
				if strings.HasPrefix(p, "not measured by k6: ") {
					notMeasured++
				}
			}
			if want := len(tt.objs) - len(r.SLOs); notMeasured != want {
				t.Errorf("%d objectives listed as not measured, want %d: %q", notMeasured, want, r.Problems)
			}
		})
	}
}

const goodPoint = `{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-29T09:00:00Z","value":12.5,"tags":{"kind":"bet","status":"201"}}}`

func TestImportResultsBadLines(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string // in the error
	}{
		{"not JSON", `{"metric":`, "not a JSON object"},
		{"no metric", `{"type":"Point","data":{}}`, `no "metric"`},
		{"no type", `{"metric":"http_req_duration","data":{}}`, `no "type"`},
		{"unknown type", `{"type":"Sample","metric":"vus","data":{}}`, `"Sample" is neither`},
		// Strict for what it reads: an unknown field is a format it does not know.
		{"unknown field in a point", strings.Replace(goodPoint, `"value"`, `"valu":1,"value"`, 1), `unknown field "valu"`},
		{"unknown envelope field", strings.Replace(goodPoint, `{"metric"`, `{"extra":1,"metric"`, 1), `unknown field "extra"`},
		{"no data", `{"metric":"http_req_duration","type":"Point"}`, `no "data"`},
		{"no time", strings.Replace(goodPoint, `"time":"2026-11-29T09:00:00Z",`, "", 1), `no "time"`},
		{"no value", strings.Replace(goodPoint, `"value":12.5,`, "", 1), `no "value"`},
		{"value a string", strings.Replace(goodPoint, `12.5`, `"12.5"`, 1), `field "value"`},
		{"negative latency", strings.Replace(goodPoint, `12.5`, `-1`, 1), "at least 0"},
		{"no status", strings.Replace(goodPoint, `,"status":"201"`, "", 1), `no "status" tag`},
		{"bad status", strings.Replace(goodPoint, `"201"`, `"ok"`, 1), `status "ok"`},
		{"fractional count", `{"metric":"dropped_iterations","type":"Point","data":{"time":"2026-11-29T09:00:00Z","value":1.5,"tags":null}}`, "whole number"},
		{"wrong metric type", `{"type":"Metric","metric":"http_req_duration","data":{"name":"http_req_duration","type":"counter","contains":"time","thresholds":[],"submetrics":null}}`, `declared a "counter"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := goodPoint + "\n" + tt.line + "\n" + goodPoint + "\n"
			_, err := ImportResults(strings.NewReader(in), ReadOptions{Source: "r.json"})
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a LineError", err)
			}
			if le.Line != 2 || !strings.HasPrefix(err.Error(), "r.json:2: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want r.json:2: ...%s...", err, tt.want)
			}
			// --skip-bad counts it and reads the rest.
			res, err := ImportResults(strings.NewReader(in), ReadOptions{Source: "r.json", SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.BadLines != 1 || res.Kinds["bet"].Requests != 2 {
				t.Errorf("skip-bad: %d bad lines, %d bets; want 1 and 2", res.BadLines, res.Kinds["bet"].Requests)
			}
		})
	}
}

func TestImportResultsSkipsWhatItDoesNotRead(t *testing.T) {
	in := strings.Join([]string{
		// A metric of the script's own, with fields the import never reads.
		`{"type":"Metric","data":{"name":"my_trend","type":"trend","whatever":true},"metric":"my_trend"}`,
		`{"metric":"my_trend","type":"Point","data":{"time":"x","value":"y","new":1}}`,
		goodPoint,
		// A request of another script, without the kind tag.
		strings.Replace(goodPoint, `"kind":"bet",`, "", 1),
		`{"metric":"dropped_iterations","type":"Point","data":{"time":"2026-11-29T09:00:01Z","value":3,"tags":{"scenario":"replay"},"metadata":{"vu":"1"}}}`,
		"",
	}, "\n")
	res, err := ImportResults(strings.NewReader(in), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kinds["bet"].Requests != 1 || res.Untagged != 1 || res.Dropped != 3 {
		t.Errorf("bets %d, untagged %d, dropped %d; want 1, 1, 3", res.Kinds["bet"].Requests, res.Untagged, res.Dropped)
	}
	// Dropped iterations make the measurement invalid (exit 5), however good the latencies.
	r := res.Evaluate(Scenario{Objectives: []reports.Objective{{Metric: "bet_acceptance", Stat: "p99", Limit: 1000}}})
	if r.ExitCode != reports.ExitInvalid {
		t.Errorf("exit %d with dropped iterations, want %d", r.ExitCode, reports.ExitInvalid)
	}
}

func TestImportResultsGzip(t *testing.T) {
	raw, err := os.ReadFile("testdata/results.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	res, err := ImportResults(bytes.NewReader(gz.Bytes()), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kinds["bet"].Requests != 40 {
		t.Errorf("%d bets from the gzipped file, want 40", res.Kinds["bet"].Requests)
	}
	// A truncated gzip is an error, never a silently short run.
	_, err = ImportResults(bytes.NewReader(gz.Bytes()[:gz.Len()/2]), ReadOptions{SkipBad: true})
	if err == nil {
		t.Error("a truncated gzip file read without error")
	}
}

func TestImportResultsLineTooLong(t *testing.T) {
	in := goodPoint + "\n" + strings.Repeat("x", MaxResultsLine+1) + "\n"
	_, err := ImportResults(strings.NewReader(in), ReadOptions{Source: "r.json", SkipBad: true})
	if err == nil || !strings.Contains(err.Error(), "r.json:2: line longer") {
		t.Errorf("error %v, want r.json:2: line longer...", err)
	}
}

func FuzzImportResults(f *testing.F) {
	raw, err := os.ReadFile("testdata/results.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw, false)
	f.Add([]byte(goodPoint+"\n"+`{"metric":`), true)
	f.Add([]byte(`{"metric":"dropped_iterations","type":"Point","data":{"time":"2026-11-29T09:00:01Z","value":3,"tags":null}}`), false)
	f.Fuzz(func(t *testing.T, in []byte, skipBad bool) {
		res, err := ImportResults(bytes.NewReader(in), ReadOptions{SkipBad: skipBad})
		if err != nil {
			if skipBad {
				var le *LineError
				if errors.As(err, &le) && !strings.Contains(err.Error(), "line longer") {
					t.Fatalf("--skip-bad stopped at a bad line: %v", err)
				}
			}
			return
		}
		total := 0
		for kind, ks := range res.Kinds {
			if ks.Accepted+ks.Rejected+ks.Unknown != ks.Requests || int(ks.Latency.TotalCount()) != ks.Requests {
				t.Fatalf("%s: %+v does not add up", kind, ks)
			}
			total += ks.Requests
		}
		r := res.Evaluate(Scenario{Objectives: []reports.Objective{
			{Metric: "bet_acceptance", Stat: "p99", Limit: 100}, {Metric: "error_rate", Stat: "max", Limit: 1}}})
		if r.Load.Sent != total {
			t.Fatalf("report sent %d, results %d", r.Load.Sent, total)
		}
		switch r.ExitCode {
		case reports.ExitPass, reports.ExitSLOBreached, reports.ExitInvalid:
		default:
			t.Fatalf("exit code %d", r.ExitCode)
		}
	})
}
