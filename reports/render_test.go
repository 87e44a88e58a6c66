package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenReport is a fixed Report that exercises every part of the
// renderers: a breached and a passing SLO, one failed for lack of samples,
// a quote latency with updates that never arrived, the quote counters,
// a failed invariant with more violations than witnesses, passing ones with
// a note, a fault that landed, one that did not, one never injected, and
// problems.
func goldenReport() *Report {
	return &Report{
		Schema: Schema, Verdict: VerdictFail, ExitCode: ExitReconcile,
		Scenario: ScenarioRef{Name: "smoke", Seed: 7},
		Run: RunInfo{
			ID: "smoke_20261129t090000_a1b2c3", StartedAt: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC),
			WallS: 60.25, Speed: 4, Headroom: 1.3, CaptureSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			StackSource: "local",
			Build:       &BuildInfo{Go: "go1.26.0", Version: "(devel)", Revision: "5b80647e0c4d1b1f0f7d1e6f2a9c3b4d5e6f7a8b", Modified: true},
			Host:        "ci-runner-3",
		},
		Load: Load{Planned: 12000, Sent: 11990, Dropped: 10, RatePerS: 199.0, ScheduleLagP99MS: 3.2,
			Bets:   BetCount{Sent: 8000, Accepted: 7100, Rejected: 880, Unknown: 20},
			Quotes: QuoteCount{Subscribers: 4, Received: 48210, Disconnects: 3}},
		SLOs: []SLOResult{
			{Metric: MetricBetAcceptance, Phase: PhaseAll, Stat: "p99", Objective: "p99 <= 250ms", Observed: ptr(312.447), Unit: "ms", Pass: false, Samples: 7980,
				Budget: &Budget{AllowedPct: 1, UsedPct: 2.5, Burn: ptr(2.5)}},
			{Metric: MetricSettlementLag, Phase: PhaseSteady, Stat: "p99", Objective: "p99 <= 5s", Observed: ptr(820.5), Unit: "ms", Pass: true, Samples: 640,
				Budget: &Budget{AllowedPct: 1, UsedPct: 0.3125, Burn: ptr(0.3125)}},
			{Metric: MetricErrorRate, Phase: PhaseRecovery, Stat: "max", Objective: "max <= 0.5%", Unit: "%", Pass: false, Note: "no samples in phase recovery: nothing was measured"},
			{Metric: MetricQuoteLatency, Phase: PhaseFault, Stat: "p99", Objective: "p99 <= 500ms", Observed: ptr(10250.5), Unit: "ms", Pass: false, Samples: 1200,
				Note:   "12 of 1200 updates × subscribers never arrived; each counts as the time from its intended send to the end of observation",
				Budget: &Budget{AllowedPct: 1, UsedPct: 1.5, Burn: ptr(1.5)}},
			{Metric: MetricBetAcceptance, Phase: FaultPhase("redis-slow"), Stat: "max", Objective: "max <= 1s", Observed: ptr(1200), Unit: "ms", Pass: false, Samples: 400,
				Budget: &Budget{AllowedPct: 0, UsedPct: 0.25}},
		},
		Invariants: []Invariant{
			{Name: InvDoubleEntry, Checked: 9000, Violations: 4, Pass: false, Witnesses: []Witness{
				{IDs: []string{"tx:17", "b-42"}, Why: "stake tx:17 has 1 posting(s); double entry needs at least 2 and its postings sum to 500, not 0"},
				{IDs: []string{"tx:18", "b-43"}, Why: "stake tx:18 has 1 posting(s); double entry needs at least 2 and its postings sum to 200, not 0"},
				{IDs: []string{"tx:19", "b-44"}, Why: "stake tx:19 | a pipe & <markup>"},
			}},
			{Name: InvUnknownResolved, Checked: 20, Pass: true, Witnesses: []Witness{}, Note: "20 unknown outcomes: 12 present once, 8 absent"},
			{Name: InvSuspenseMatches, Checked: 14201, Pass: true, Witnesses: []Witness{}, Note: "suspense holds 52000; open bets' stakes sum to 52000"},
		},
		Faults: []Fault{
			{Name: "redis-slow", Target: "redis", Kind: "latency", Injected: true, InjectedAtS: 20, HealedAtS: 30, Healed: true, Landed: true, Evidence: "p50 redis RTT 201ms during the fault"},
			{Name: "pg-down", Target: "postgres", Kind: "down", Injected: true, InjectedAtS: 40.5, Landed: false, Evidence: "no connection error observed"},
			{Name: "feed-gap", Target: "feed", Kind: "gap", Injected: false, Landed: false, Evidence: "not injected: the replay ended first"},
		},
		Problems: []string{
			"the generator fell behind: 10 of 12000 planned requests were dropped (no free worker at their send time)",
			`fault "pg-down" did not land: no connection error observed`,
			`fault "feed-gap" did not land: not injected: the replay ended first`,
		},
		Timeline: goldenTimeline(),
	}
}

// goldenTimeline is the timeline of a generated 60 s run, through the code
// a run uses: 200 bettor requests/s whose latency rises while redis-slow
// (20 s to 30 s) is in and again from pg-down (40.5 s, never healed), with
// timeouts then, a feed message every 50 ms, and quote figures that follow
// the faults.
func goldenTimeline() *Timeline {
	var j []replay.JournalEntry
	for us := int64(0); us < 60_000_000; us += 5_000 {
		lat, out := int64(8_000+us%7_000), replay.OutcomeAccepted
		switch {
		case us >= 20_000_000 && us < 30_000_000:
			lat += 200_000 + us%50_000
		case us >= 40_500_000:
			lat += 90_000 + us%30_000
			if us%2_000_000 == 0 {
				lat, out = 5_000_000, replay.OutcomeUnknown
			}
		}
		if us%100_000 == 5_000 {
			out = replay.OutcomeRejected
		}
		sentUS := us + us%3*400
		j = append(j, replay.JournalEntry{Kind: replay.KindBet, IntendedUS: us, SentUS: sentUS, DoneUS: us + lat, Outcome: out})
		if us%50_000 == 0 {
			j = append(j, replay.JournalEntry{Kind: replay.KindOdds, IntendedUS: us, SentUS: us, Outcome: replay.OutcomePublished})
		}
	}
	j = append(j, replay.JournalEntry{Kind: replay.KindBet, IntendedUS: 45_000_000, Outcome: replay.OutcomeDropped})
	in := Input{Wall: 60250 * time.Millisecond, Journal: j}
	tl := buildTimeline(in, in.entries(nil))
	for i := range tl.Buckets {
		q, st := 3.5+float64(i%4)*0.25, 0.0
		if i >= 20 && i < 30 {
			q, st = 180+float64(i%5)*12, 400+float64(i%3)*60
		}
		tl.Buckets[i].QuoteLatencyP99MS, tl.Buckets[i].OddsStalenessP99MS = ptr(q), ptr(st)
	}
	return tl
}

func TestRenderGolden(t *testing.T) {
	for _, name := range Renderers() {
		t.Run(name, func(t *testing.T) {
			rd, _ := LookupRenderer(name)
			var buf bytes.Buffer
			if err := rd.Render(&buf, goldenReport()); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden."+rd.File())
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./reports -run TestRenderGolden -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%s differs from %s (refresh with -update if the change is intended):\n%s", name, path, buf.String())
			}
		})
	}
}

func TestRenderedFormatsParse(t *testing.T) {
	r := goldenReport()
	t.Run("json has the contract's keys", func(t *testing.T) {
		var buf bytes.Buffer
		if err := (jsonRenderer{}).Render(&buf, r); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"schema", "verdict", "exit_code", "scenario", "run", "load", "slos", "invariants", "faults", "problems"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("report.json lacks %q", k)
			}
		}
		slo := doc["slos"].([]any)[2].(map[string]any)
		if v, ok := slo["observed"]; !ok || v != nil {
			t.Errorf("observed without samples must be null, got %v", v)
		}
	})
	t.Run("junit counts failures", func(t *testing.T) {
		var buf bytes.Buffer
		if err := (junitRenderer{}).Render(&buf, r); err != nil {
			t.Fatal(err)
		}
		var doc junitSuites
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		// Failures: four SLOs (three breached, one with no samples), one
		// invariant, two faults (one did not land, one never went in) and
		// the run's problems.
		if doc.Tests != 12 || doc.Failures != 8 || doc.Skipped != 0 {
			t.Fatalf("tests %d failures %d skipped %d", doc.Tests, doc.Failures, doc.Skipped)
		}
		var names []string
		for _, s := range doc.Suites {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"slos", "invariants", "faults", "run"}) {
			t.Fatalf("suites %v", names)
		}
		inv := doc.Suites[1].Cases[0].Failure
		if inv == nil || !strings.Contains(inv.Body, "[tx:17 b-42]") || !strings.Contains(inv.Body, "and 1 more violations") {
			t.Fatalf("invariant failure %+v", inv)
		}
		faults := doc.Suites[2].Cases
		if faults[0].Failure != nil || faults[1].Failure == nil || faults[2].Failure == nil ||
			faults[2].Failure.Message != "the fault was never injected" {
			t.Fatalf("fault cases %+v", faults)
		}
	})
	t.Run("a hand-built report renders lists, not nulls", func(t *testing.T) {
		var buf bytes.Buffer
		if err := (jsonRenderer{}).Render(&buf, &Report{Schema: Schema}); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(buf.Bytes(), []byte("null")) {
			t.Fatalf("nulls in %s", buf.Bytes())
		}
	})
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteAll(dir, goldenReport())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range paths {
		files = append(files, filepath.Base(p))
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	if want := []string{"report.html", "report.json", "junit.xml", "summary.md"}; !slices.Equal(files, want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	if _, err := WriteAll(filepath.Join(dir, "missing"), goldenReport()); err == nil {
		t.Fatal("writing into a missing folder gave no error")
	}
}

// stubRenderer is a renderer for registry tests only.
type stubRenderer struct{ file string }

func (s stubRenderer) File() string                        { return s.file }
func (s stubRenderer) Render(w io.Writer, _ *Report) error { return nil }

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name string
		reg  string
		r    Renderer
	}{
		{"same name twice", "json", stubRenderer{"other.json"}},   // a name is registered once
		{"same file twice", "json2", stubRenderer{"report.json"}}, // two renderers would overwrite each other
		{"empty name", "", stubRenderer{"x"}},                     // unnamed renderers cannot be listed
		{"nil renderer", "nothing", nil},                          // nothing to call
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Register did not panic")
				}
			}()
			Register(tc.reg, tc.r)
		})
	}
	if got := Renderers(); !slices.Equal(got, []string{"html", "json", "junit", "summary"}) {
		t.Fatalf("renderers %v", got)
	}
}
