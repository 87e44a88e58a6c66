package k6_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/k6"
	"github.com/inplaylabs/inplay/reports"
	"github.com/inplaylabs/inplay/scenarios"
)

// exportSmoke exports the catalog's smoke scenario as the CLI does.
func exportSmoke(t *testing.T) (*scenarios.Scenario, *replay.Plan, *k6.Script) {
	t.Helper()
	sc, err := scenarios.LoadFile("../../scenarios/catalog/smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.LoadPlan(sc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := k6.Export(k6.Scenario{Name: sc.Name, Seed: sc.Seed, Speed: sc.Speed, Headroom: sc.Headroom, Objectives: sc.Objectives},
		plan, k6.Options{DataFile: "smoke.requests.json"})
	if err != nil {
		t.Fatal(err)
	}
	return sc, plan, s
}

func TestExportSmoke(t *testing.T) {
	_, plan, s := exportSmoke(t)

	// Every bettor event of the plan, headroom clones included, and no feed event.
	var want []replay.Event
	clones := 0
	for _, p := range plan.Entries {
		if !p.Event.Kind.IsFeed() {
			want = append(want, p.Event)
			if p.Clone > 0 {
				clones++
			}
		}
	}
	if clones == 0 {
		t.Fatal("smoke's headroom 1.3 made no clones: the test would not tell headroom from none")
	}
	var data [][3]string
	if err := json.Unmarshal(s.Data, &data); err != nil {
		t.Fatalf("the requests file is not a JSON array of [kind, path, body]: %v", err)
	}
	if s.Requests != len(want) || len(data) != len(want) {
		t.Fatalf("%d requests in the script, %d in its file, want %d bettor events", s.Requests, len(data), len(want))
	}
	for i, ev := range want {
		r, _ := replay.RequestFor(ev)
		if data[i] != [3]string{string(ev.Kind), r.Path, string(r.Body)} {
			t.Fatalf("request %d is %v, want the plan's %s %s", i, data[i], ev.Kind, ev.ID)
		}
	}

	// The steps cover the plan's wall time and start one iteration per request.
	var sum time.Duration
	iters := 0.0
	unit := s.Steps[0].Duration
	for _, st := range s.Steps {
		sum += st.Duration
		unit = min(unit, st.Duration)
	}
	if want := plan.Duration.Round(time.Millisecond); sum != want {
		t.Errorf("steps add up to %s, want the plan's %s", sum, want)
	}
	perStep := map[int]int{}
	for _, p := range plan.Entries {
		if !p.Event.Kind.IsFeed() {
			perStep[int(p.At/time.Second)]++
		}
	}
	at := time.Duration(0)
	for _, st := range s.Steps {
		iters += float64(st.Requests)
		// smoke is 40 s of wall time: one step a second, merged where equal.
		for sec := at; sec < at+st.Duration; sec += time.Second {
			if got := st.Requests / int(st.Duration/time.Second); perStep[int(sec/time.Second)] != got {
				t.Errorf("second %s: step rate %d, plan has %d", sec, got, perStep[int(sec/time.Second)])
			}
		}
		at += st.Duration
	}
	if int(iters) != s.Requests {
		t.Errorf("steps hold %g requests, want %d", iters, s.Requests)
	}

	js := string(s.JS)
	for _, w := range []string{
		"executor: 'ramping-arrival-rate'",
		"timeUnit: '1000ms'",
		fmt.Sprintf("preAllocatedVUs: %d,", s.PreAllocatedVUs),
		fmt.Sprintf("maxVUs: %d,", s.MaxVUs),
		`open("./smoke.requests.json")`,
		"new SharedArray(",
		"exec.scenario.iterationInTest",
		"__ENV.INPLAY_API_URL",
		// bet_acceptance p99 500ms (all) and 250ms (steady): both on bets.
		`"http_req_duration{kind:bet}": ["p(99)<=500", "p(99)<=250"]`,
		// error_rate max 0.5%.
		`"http_req_failed": ["rate<=0.005"]`,
		// settlement_lag is named as not exported.
		"settlement_lag p99 <= 5s (phase all): needs the platform's ledger",
	} {
		if !strings.Contains(js, w) {
			t.Errorf("the script lacks %q", w)
		}
	}
	// Built-in modules only: nothing a k6 binary would have to fetch.
	for _, m := range regexp.MustCompile(`from '([^']+)'`).FindAllStringSubmatch(js, -1) {
		if !slices.Contains([]string{"k6", "k6/http", "k6/data", "k6/execution", "k6/metrics"}, m[1]) {
			t.Errorf("the script imports %q, not a k6 built-in module", m[1])
		}
	}
	if s.MaxVUs < s.PreAllocatedVUs || s.PreAllocatedVUs < 1 {
		t.Errorf("VUs %d preallocated, %d max", s.PreAllocatedVUs, s.MaxVUs)
	}
}

// k6Binary returns the k6 on PATH, or skips.
func k6Binary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("k6")
	if err != nil {
		t.Skip("no k6 binary on PATH: install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) to check the exported script with k6 itself")
	}
	return bin
}

func writeScript(t *testing.T, dir, name string, s *k6.Script) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, s.JS, 0o644); err != nil {
		t.Fatal(err)
	}
	if s.DataFile != "" {
		if err := os.WriteFile(filepath.Join(dir, s.DataFile), s.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestExportSmokeK6Inspect: k6 itself accepts the script and reads the
// executor, stages and thresholds the export meant.
func TestExportSmokeK6Inspect(t *testing.T) {
	bin := k6Binary(t)
	_, _, s := exportSmoke(t)
	dir := t.TempDir()
	path := writeScript(t, dir, "smoke.js", s)
	out, err := exec.Command(bin, "inspect", path).Output()
	if err != nil {
		t.Fatalf("k6 inspect: %v\n%s", err, out)
	}
	var got struct {
		Scenarios map[string]struct {
			Executor string `json:"executor"`
			Stages   []struct {
				Duration string `json:"duration"`
				Target   int    `json:"target"`
			} `json:"stages"`
		} `json:"scenarios"`
		Thresholds map[string]json.RawMessage `json:"thresholds"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("k6 inspect printed no options: %v\n%s", err, out)
	}
	sc := got.Scenarios["replay"]
	// Two stages a step (a jump and a hold), and a one-unit tail.
	if sc.Executor != "ramping-arrival-rate" || len(sc.Stages) != 2*len(s.Steps)+1 {
		t.Errorf("k6 read executor %q with %d stages, want ramping-arrival-rate with %d", sc.Executor, len(sc.Stages), 2*len(s.Steps)+1)
	}
	var sum time.Duration
	for _, st := range sc.Stages {
		d, err := time.ParseDuration(st.Duration)
		if err != nil {
			t.Fatal(err)
		}
		sum += d
	}
	if want := 40*time.Second + time.Second; sum != want { // the plan, and the tail
		t.Errorf("k6 read stages of %s in all, want %s", sum, want)
	}
	for k := range s.Thresholds {
		if _, ok := got.Thresholds[k]; !ok {
			t.Errorf("k6 did not read the threshold on %s", k)
		}
	}
}

// TestExportRunImport runs an exported script with k6 against a local
// server whose answers are known, then imports k6's JSON output: the
// import counts exactly the server's answers and reaches the verdict they
// imply. k6 is open loop too: on a machine too busy to start an iteration
// on time it drops it (dropped_iterations), and then the import must count
// exactly the requests that never arrived as dropped, and call the
// measurement invalid.
func TestExportRunImport(t *testing.T) {
	bin := k6Binary(t)
	// 3 s of traffic, 120 requests: bets answered 201, every 10th 422 and
	// every 15th 503; deposits 201.
	c := &replay.Capture{Header: replay.Header{Capture: replay.CaptureVersion, DurationUS: 3_000_000}}
	for i := range 120 {
		ev := replay.Event{T: int64(i) * 25_000, Kind: replay.KindBet, ID: fmt.Sprintf("b%d", i), Account: "a1", Market: "m1", Selection: "home", Odds: "2.5", Stake: 100}
		if i%4 == 0 {
			ev = replay.Event{T: ev.T, Kind: replay.KindDeposit, ID: fmt.Sprintf("d%d", i), Account: "a1", Amount: 1000}
		}
		c.Events = append(c.Events, ev)
	}
	plan, err := replay.NewPlan(c, replay.PlanOptions{Speed: 1, Headroom: 1})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		seen = append(seen, body.ID)
		mu.Unlock()
		var n int
		fmt.Sscanf(body.ID[1:], "%d", &n)
		switch {
		case body.ID[0] == 'd':
			w.WriteHeader(http.StatusCreated)
		case n%15 == 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case n%10 == 0:
			w.WriteHeader(http.StatusUnprocessableEntity)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()

	objs := []reports.Objective{
		{Metric: reports.MetricBetAcceptance, Stat: "p99", Limit: 2000},
		{Metric: reports.MetricErrorRate, Stat: "max", Limit: 1},
	}
	s, err := k6.Export(k6.Scenario{Name: "run", Speed: 1, Headroom: 1, Objectives: objs}, plan, k6.Options{BaseURL: srv.URL, DataFile: "run.requests.json"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := writeScript(t, dir, "run.js", s)
	results := filepath.Join(dir, "results.json")
	cmd := exec.Command(bin, "run", "--quiet", "--no-usage-report", "--out", "json="+results, path)
	out, err := cmd.CombinedOutput()
	// k6 exits 99 when a threshold is crossed: error_rate is, by design.
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 99) {
		t.Fatalf("k6 run: %v\n%s", err, out)
	}
	n := len(seen)
	slices.Sort(seen)
	if distinct := len(slices.Compact(seen)); distinct != n || n == 0 || n > 120 {
		t.Fatalf("the server saw %d requests, %d distinct, want at most 120, each once", n, distinct)
	}
	f, err := os.Open(results)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := k6.ImportResults(f, k6.ReadOptions{Source: results})
	if err != nil {
		t.Fatal(err)
	}
	if n < 120 {
		// A busy machine: k6 dropped iterations. What arrived and what was
		// dropped must add up, and the verdict cannot be a pass or a breach.
		sent := 0
		for _, k := range res.Kinds {
			sent += k.Requests
		}
		if sent != n || res.Dropped != 120-n {
			t.Fatalf("the server saw %d requests; the import counts %d sent and %d dropped, want %d and %d", n, sent, res.Dropped, n, 120-n)
		}
		if r := res.Evaluate(k6.Scenario{Name: "run", Objectives: objs}); r.ExitCode != reports.ExitInvalid {
			t.Fatalf("k6 dropped %d iterations, and the import exits %d, want %d (invalid)", res.Dropped, r.ExitCode, reports.ExitInvalid)
		}
		t.Logf("k6 dropped %d of 120 iterations on this machine; the import counted them and called the run invalid", res.Dropped)
		return
	}
	// Bets: 90 (every 4th of 120 is a deposit). Of the bet numbers not
	// divisible by 4: 503 for multiples of 15, 422 for other multiples of 10.
	wantBets := [4]int{}
	for n := range 120 {
		if n%4 == 0 {
			continue
		}
		wantBets[0]++
		switch {
		case n%15 == 0:
			wantBets[3]++
		case n%10 == 0:
			wantBets[2]++
		default:
			wantBets[1]++
		}
	}
	b := res.Kinds["bet"]
	if got := [4]int{b.Requests, b.Accepted, b.Rejected, b.Unknown}; got != wantBets {
		t.Errorf("bets requests/accepted/rejected/unknown %v, want %v", got, wantBets)
	}
	if d := res.Kinds["deposit"]; d == nil || d.Requests != 30 || d.Accepted != 30 {
		t.Errorf("deposits %+v, want 30 accepted", d)
	}
	if res.Dropped != 0 {
		t.Errorf("k6 dropped %d iterations", res.Dropped)
	}
	r := res.Evaluate(k6.Scenario{Name: "run", Objectives: objs})
	if r.ExitCode != reports.ExitSLOBreached || !r.SLOs[0].Pass || r.SLOs[1].Pass {
		t.Errorf("exit %d, SLOs %+v: want bet_acceptance met and error_rate breached", r.ExitCode, r.SLOs)
	}
	if got, want := *r.SLOs[1].Observed, float64(wantBets[3])*100/120; math.Abs(got-want) > 1e-9 {
		t.Errorf("error rate %g%%, want %g%%", got, want)
	}
}
