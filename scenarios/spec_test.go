package scenarios

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/replay/bettors"
	"github.com/inplaylabs/inplay/reports"
)

const validScenario = `
name: smoke
description: one match
seed: 7
load:
  generate: {profile: football, matches: 1, bettors: 200, duration: 240s}
  speed: 4
  headroom: 1.3
platform: {in_play_delay: 2s}
faults:
  - {name: redis-slow, at: 20s, for: 10s, target: redis, kind: latency, params: {latency: 200ms, jitter: 20ms}}
slos:
  - {metric: bet_acceptance, p99: 250ms}
  - {metric: settlement_lag, p99: 5s, phase: steady}
  - {metric: error_rate, max: 0.5%}
reconcile: strict
`

func TestParseValid(t *testing.T) {
	sc, err := Parse("smoke.yaml", []byte(validScenario))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "smoke" || sc.Seed != 7 || sc.Speed != 4 || sc.Headroom != 1.3 {
		t.Errorf("scenario %+v", sc)
	}
	if sc.Generate == nil || sc.Generate.Bettors != 200 || sc.Generate.Duration != 240*time.Second {
		t.Errorf("generate %+v", sc.Generate)
	}
	if sc.InPlayDelay != 2*time.Second || !sc.Reconcile || sc.Drain != DefaultDrain || sc.Workers != DefaultWorkers || sc.QuoteSubscribers != DefaultQuoteSubscribers {
		t.Errorf("settings %+v", sc)
	}
	if len(sc.Faults) != 1 || sc.Faults[0].At != 20*time.Second || sc.Faults[0].For != 10*time.Second {
		t.Errorf("faults %+v", sc.Faults)
	}
	want := []struct {
		metric, phase, stat string
		limit               float64
	}{
		{"bet_acceptance", "all", "p99", 250},
		{"settlement_lag", "steady", "p99", 5000},
		{"error_rate", "all", "max", 0.5},
	}
	if len(sc.Objectives) != len(want) {
		t.Fatalf("objectives %+v", sc.Objectives)
	}
	for i, w := range want {
		o := sc.Objectives[i]
		if o.Metric != w.metric || o.Phase != w.phase || o.Stat != w.stat || o.Limit != w.limit {
			t.Errorf("objective %d = %+v, want %+v", i, o, w)
		}
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the one error message
	}{
		// The example: both problems in one message, each with its line.
		{"unknown key and negative speed", "name: x\nload:\n  generate: {profile: football, matches: 1, bettors: 1, duration: 60s}\n  speed: -1\n  turbo: 2\n",
			[]string{`line 5: unknown key "turbo" in load`, "line 4: load.speed: must be greater than 0"}},
		// Unknown keys at every depth are all reported.
		{"unknown keys everywhere", "name: x\ncolour: red\nload:\n  capture: c.jsonl\nfaults:\n  - {name: f, at: 1s, for: 1s, target: redis, kind: latency, params: {latency: 1ms}, when: now}\nslos:\n  - {metric: bet_acceptance, p99: 1s, p98: 2s}\n",
			[]string{`unknown key "colour" in the scenario`, `unknown key "when" in faults[0]`, `unknown key "p98" in slos[0]`}},
		// A missing name and a missing load are both required.
		{"empty", "description: nothing\n", []string{"name: is required", "load: needs either generate or capture"}},
		// Both sources at once is ambiguous.
		{"generate and capture", "name: x\nload:\n  capture: a.jsonl\n  generate: {profile: football, matches: 1, bettors: 1, duration: 60s}\n",
			[]string{"has both generate and capture"}},
		// Bare numbers have no unit; a duration needs one.
		{"unitless durations", "name: x\nload:\n  generate: {profile: football, matches: 1, bettors: 1, duration: 60}\nplatform: {in_play_delay: 2}\n",
			[]string{"load.generate.duration", "has no unit", "platform.in_play_delay"}},
		// Headroom below 1 would remove traffic, not add it.
		{"headroom below one", "name: x\nload:\n  capture: a.jsonl\n  headroom: 0.5\n", []string{"load.headroom: must be between 1 and 10"}},
		// Profiles and counts are checked.
		{"bad generator", "name: x\nload:\n  generate: {profile: tennis, matches: 0, bettors: 0, duration: 1s}\n",
			[]string{`"tennis" is not a known profile`, "matches: must be between", "bettors: must be between", "must be at least 30s"}},
		// Validation holds the generator's own minimum: what validate takes, run can generate.
		{"generator too short", "name: x\nload:\n  generate: {profile: football, matches: 1, bettors: 1, duration: 20s}\n",
			[]string{"load.generate.duration: must be at least 30s, not 20s"}},
		// Each objective has exactly one limit, with a unit.
		{"bad objectives", "name: x\nload:\n  capture: a.jsonl\nslos:\n  - {metric: bet_acceptance}\n  - {metric: bet_acceptance, p99: 1s, p50: 1ms}\n  - {metric: error_rate, max: 0.5}\n  - {metric: error_rate, p99: 1%}\n  - {metric: bet_acceptance, p99: 250}\n",
			[]string{"slos[0]: metric bet_acceptance needs one limit", "slos[1]: metric bet_acceptance has 2 limits", "slos[2]: error_rate limit \"0.5\" must be a percentage",
				"slos[3]: error_rate takes max", "slos[4]: bet_acceptance p99 limit \"250\" has no unit"}},
		// Metrics are checked by reports: an unknown one, a stat it does not take.
		{"bad metric", "name: x\nload:\n  capture: a.jsonl\nslos:\n  - {metric: odds_staleness, p99: 0s}\n  - {metric: throughput, p99: 1s}\n",
			[]string{"odds_staleness limit 0 must be a positive number", `metric "throughput" is not one of`}},
		// A fault phase names a fault of the plan.
		{"fault phase naming no fault", "name: x\nload:\n  capture: a.jsonl\nfaults:\n  - {name: redis-slow, at: 1s, for: 1s, target: redis, kind: latency, params: {latency: 1ms}}\nslos:\n  - {metric: bet_acceptance, p99: 1s, phase: \"fault:redis\"}\n",
			[]string{`phase "fault:redis" names the fault "redis", and there is none; the faults are: redis-slow`}},
		// One objective per fault needs a fault.
		{"every fault with no faults", "name: x\nload:\n  capture: a.jsonl\nslos:\n  - {metric: bet_acceptance, p99: 1s, phase: \"fault:*\"}\n",
			[]string{"phase fault:* asks for one objective per fault, and there are no faults"}},
		// A quote objective needs quote subscribers; the message names the key.
		{"quote objective without subscribers", "name: x\nload:\n  capture: a.jsonl\n  quote_subscribers: 0\nslos:\n  - {metric: bet_acceptance, p99: 1s}\n  - {metric: odds_staleness, p99: 1s}\n",
			[]string{"line 7: slos[1]: odds_staleness is measured by the quote subscribers, and load.quote_subscribers is 0"}},
		// A count of connections is neither negative nor unbounded.
		{"negative quote subscribers", "name: x\nload:\n  capture: a.jsonl\n  quote_subscribers: -1\n", []string{"line 4: load.quote_subscribers: must be between 0 and 64"}},
		{"too many quote subscribers", "name: x\nload:\n  capture: a.jsonl\n  quote_subscribers: 65\n", []string{"load.quote_subscribers: must be between 0 and 64 (0 = none), not 65"}},
		// Faults are checked by chaos: kind, target, params.
		{"bad faults", "name: x\nload:\n  capture: a.jsonl\nfaults:\n  - {name: f, at: -1s, for: 1s, target: moon, kind: latency, params: {latency: 1ms}}\n  - {name: g, at: 1s, for: 1s, target: redis, kind: melt}\n",
			[]string{"moon", "melt"}},
		// reconcile takes strict or off.
		{"bad reconcile", "name: x\nload:\n  capture: a.jsonl\nreconcile: sometimes\n", []string{`reconcile: "sometimes" is not one of: strict, off`}},
		// Type errors come from the decoder, with a position.
		{"wrong type", "name: x\nload:\n  capture: a.jsonl\n  speed: fast\n", []string{"speed"}},
		// A scenario must be a mapping.
		{"not a mapping", "- a\n- b\n", []string{"must be a mapping"}},
		// YAML syntax errors are bad input too.
		{"syntax", "name: [x\n", []string{"problem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			var ie *herr.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *herr.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseQuoteSubscribers(t *testing.T) {
	tests := []struct {
		name string
		load string // the load section's extra line
		slo  string // an objective, or ""
		want int
	}{
		{"default", "", "{metric: quote_latency, p99: 250ms}", DefaultQuoteSubscribers},
		{"explicit count with quote objectives", "quote_subscribers: 2", "{metric: odds_staleness, max: 2s}", 2},
		// 0 is a choice (an operator's platform with no quote stream), not an omission.
		{"zero without quote objectives", "quote_subscribers: 0", "{metric: bet_acceptance, p99: 250ms}", 0},
		{"the most", "quote_subscribers: 64", "", 64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := "name: x\nload:\n  capture: a.jsonl\n  " + tc.load + "\n"
			if tc.slo != "" {
				y += "slos:\n  - " + tc.slo + "\n"
			}
			sc, err := Parse("t.yaml", []byte(y))
			if err != nil {
				t.Fatal(err)
			}
			if sc.QuoteSubscribers != tc.want {
				t.Fatalf("quote subscribers %d, want %d", sc.QuoteSubscribers, tc.want)
			}
			if tc.slo != "" && (len(sc.Objectives) != 1 || sc.Objectives[0].Limit <= 0) {
				t.Fatalf("objectives %+v", sc.Objectives)
			}
		})
	}
}

func TestParseBettors(t *testing.T) {
	tests := []struct {
		name    string
		bettors string // load.bettors as written
		want    bettors.Config
	}{
		// The defaults: the scenario's seed, the default mix and prefix.
		{"required keys only", "{count: 500, rate: 60, max_stake: 10000}",
			bettors.Config{Seed: 7, Bettors: 500, Rate: 60, MaxStake: 10000, Prefix: DefaultBettorPrefix}},
		{"every key", "{count: 3, seed: 9, rate: 0.5, max_stake: 1, policy_mix: {exact: 50, any: 50}, id_prefix: \"\"}",
			bettors.Config{Seed: 9, Bettors: 3, Rate: 0.5, MaxStake: 1, PolicyMix: bettors.PolicyMix{Exact: 50, Any: 50}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte("name: x\nseed: 7\nload:\n  capture: feed.jsonl\n  bettors: "+tc.bettors+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if sc.Bettors == nil || *sc.Bettors != tc.want {
				t.Fatalf("bettors %+v, want %+v", sc.Bettors, tc.want)
			}
			if errs := sc.Bettors.Validate(); errs != nil {
				t.Fatalf("the resolved config does not validate: %v", errs)
			}
		})
	}
}

func TestParseBettorsProblems(t *testing.T) {
	tests := []struct {
		name string
		load string // the load section's lines after capture
		want []string
	}{
		// Every bad value at once, each with its line.
		{"bad values", "  bettors:\n    count: 0\n    rate: -1\n    max_stake: 0\n    id_prefix: \"a b\"\n",
			[]string{"line 5: load.bettors.count: must be between 1 and", "line 6: load.bettors.rate: must be above 0",
				"line 7: load.bettors.max_stake: must be between 1", "line 8: load.bettors.id_prefix: prefix \"a b\" holds a space"}},
		// The mix is percentages that add up.
		{"a mix short of 100", "  bettors: {count: 1, rate: 1, max_stake: 1, policy_mix: {exact: 60, better: 30}}\n",
			[]string{"line 4: load.bettors.policy_mix: is exact 60, better 30, any 0", "summing to 100"}},
		// Strict keys, down to the mix.
		{"unknown keys", "  bettors:\n    count: 1\n    rate: 1\n    max_stake: 1\n    speed: 2\n    policy_mix: {exact: 100, maybe: 0}\n",
			[]string{`line 8: unknown key "speed" in load.bettors`, `line 9: unknown key "maybe" in load.bettors.policy_mix`}},
		// Required keys.
		{"nothing", "  bettors: {}\n", []string{"load.bettors.count", "load.bettors.rate", "load.bettors.max_stake"}},
		{"wrong type", "  bettors:\n    count: many\n    rate: 1\n    max_stake: 1\n", []string{"line 5: load.bettors.count: cannot unmarshal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte("name: x\nload:\n  capture: a.jsonl\n"+tt.load))
			var ie *herr.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *herr.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	// A generated load has its own bettors.
	_, err := Parse("t.yaml", []byte("name: x\nload:\n  generate: {profile: football, matches: 1, bettors: 1, duration: 60s}\n  bettors: {count: 1, rate: 1, max_stake: 1}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4: load.bettors: overlays bettors on load.capture") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(validScenario))
	f.Add([]byte("name: x\nload:\n  capture: a.jsonl\n"))
	f.Add([]byte("name: x\nload:\n  capture: a.jsonl\n  bettors: {count: 5, rate: 60, max_stake: 100, policy_mix: {any: 100}}\n"))
	f.Add([]byte("name: [x\n"))
	f.Add([]byte("- a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		if err == nil && sc == nil {
			t.Fatal("nil scenario without an error")
		}
		if err != nil {
			var ie *herr.Error
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("error %v is not an *herr.Error with problems", err)
			}
		}
	})
}

func TestParseFaultPlans(t *testing.T) {
	const head = "name: x\nseed: 11\nload:\n  generate: {profile: football, matches: 1, bettors: 10, duration: 120s}\n  speed: 2\n"
	tests := []struct {
		name   string
		faults string
		fixed  int // faults as written
		random bool
	}{
		// The list, as DESIGN.md writes it.
		{"list", "faults:\n  - {name: a, at: 1s, for: 1s, target: redis, kind: latency, params: {latency: 200}}\n", 1, false},
		// A mapping with a list only.
		{"plan", "faults:\n  plan:\n    - {name: a, at: 1s, for: 1s, target: platform, kind: kill}\n", 1, false},
		// A random plan alone; its seed defaults to the scenario's.
		{"random", "faults:\n  random: {count: 4, kinds: [latency, down, gap, data_loss], min_for: 2s, max_for: 5s}\n", 0, true},
		// Both together.
		{"plan and random", "faults:\n  plan:\n    - {name: a, at: 1s, for: 1s, target: feed, kind: dropout}\n  random: {seed: 3, count: 3, targets: [redis, postgres]}\n", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(head+tt.faults))
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Faults) != tt.fixed || (sc.Random != nil) != tt.random {
				t.Fatalf("faults %+v random %+v", sc.Faults, sc.Random)
			}
			plan, errs := sc.Plan(chaos.FullReach())
			if errs != nil {
				t.Fatalf("Plan: %v", errs)
			}
			again, _ := sc.Plan(chaos.FullReach())
			if !reflect.DeepEqual(plan, again) {
				t.Errorf("two plans from one scenario:\n%v\n%v", plan, again)
			}
			if tt.random {
				// until defaults to the generated load's wall time: 120s at 2x.
				if sc.Random.Until != time.Minute || (tt.name == "random" && sc.Random.Seed != 11) {
					t.Errorf("random %+v; want until 1m and the scenario's seed", sc.Random)
				}
				for _, f := range plan[tt.fixed:] {
					if f.At+f.For > time.Minute {
						t.Errorf("%s ends after the replay: %+v", f.Name, f)
					}
				}
			}
		})
	}
}

func TestParseFaultPlanProblems(t *testing.T) {
	const head = "name: x\nload:\n  capture: a.jsonl\n"
	tests := []struct {
		name   string
		faults string
		want   []string
	}{
		{"unknown key in random", "faults:\n  random: {count: 2, until: 60s, colour: red}\n", []string{`line 5: unknown key "colour" in faults.random`}},
		{"unknown key in the mapping", "faults:\n  plans: []\n", []string{`unknown key "plans" in faults (known keys: plan, random)`}},
		{"neither list nor mapping", "faults: 5\n", []string{"faults must be a list of faults, or a mapping"}},
		// A capture's length is not known before it is read.
		{"capture without until", "faults:\n  random: {count: 2}\n", []string{"faults.random: needs until"}},
		{"bad random", "faults:\n  random: {count: 0, until: 60s, min_for: 2, kinds: [meteor]}\n",
			[]string{"faults.random.min_for", "has no unit"}},
		{"random refused by chaos", "faults:\n  random: {count: 0, until: 60s, kinds: [meteor]}\n",
			[]string{"count must be from 1 to 100", `kind "meteor" is unknown`}},
		// A fault in the mapping's list is named by its path there.
		{"bad fault in plan", "faults:\n  plan:\n    - {name: a, at: soon, for: 1s, target: redis, kind: down}\n", []string{"line 6: faults.plan[0].at"}},
		// The machine's shared Redis is never killed.
		{"kill redis", "faults:\n  - {name: a, at: 1s, for: 1s, target: redis, kind: kill}\n", []string{"kind kill cannot target redis"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(head+tt.faults))
			var ie *herr.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *herr.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// in_play_delay: feed takes each market's delay from its feed.
func TestParseInPlayDelayFromFeed(t *testing.T) {
	src := strings.Replace(validScenario, "platform: {in_play_delay: 2s}", "platform: {in_play_delay: feed}", 1)
	sc, err := Parse("feed.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !sc.BetDelayFromFeed || sc.InPlayDelay != 0 {
		t.Fatalf("BetDelayFromFeed %v, InPlayDelay %s; want true, 0", sc.BetDelayFromFeed, sc.InPlayDelay)
	}
	bad := strings.Replace(validScenario, "platform: {in_play_delay: 2s}", "platform: {in_play_delay: feeds}", 1)
	if _, err := Parse("bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "platform.in_play_delay") {
		t.Fatalf("in_play_delay: feeds gave %v", err)
	}
}

func TestParseFaultPhases(t *testing.T) {
	src := strings.Replace(validScenario, "reconcile: strict",
		"  - {metric: bet_acceptance, p99: 1s, phase: \"fault:redis-slow\"}\n  - {metric: error_rate, max: 1%, phase: \"fault:*\"}\nreconcile: strict", 1)
	sc, err := Parse("smoke.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// fault:* stays one objective here: it is expanded against the run's
	// faults, which a random plan only draws when the run starts.
	if got := sc.Objectives[3].Phase + " " + sc.Objectives[4].Phase; got != "fault:redis-slow fault:*" {
		t.Fatalf("phases %q", got)
	}

	// A random plan's faults can be named too, as drawn for all a run can reach.
	random := "name: x\nseed: 3\nload:\n  generate: {profile: football, matches: 1, bettors: 1, duration: 60s}\n" +
		"faults:\n  random: {count: 1, kinds: [latency], targets: [redis]}\nslos:\n  - {metric: bet_acceptance, p99: 1s, phase: \"fault:*\"}\n" +
		"  - {metric: bet_acceptance, p99: 1s, phase: \"fault:random-1-latency-redis\"}\n"
	if _, err := Parse("random.yaml", []byte(random)); err != nil {
		t.Fatal(err)
	}
}

// TestSLOSpecKeysAreTheStatTable holds the scenario's statistic keys to
// reports' statistic table: a statistic added to one and not the other
// would be a key the scenario refuses, or one it takes and cannot evaluate.
func TestSLOSpecKeysAreTheStatTable(t *testing.T) {
	var keys, stats []string
	for f := range reflect.TypeFor[SLOSpec]().Fields() {
		if k := f.Tag.Get("yaml"); k != "metric" && k != "phase" {
			keys = append(keys, k)
		}
	}
	for _, st := range reports.Stats() {
		stats = append(stats, st.Name)
	}
	if !slices.Equal(keys, stats) {
		t.Fatalf("SLOSpec's statistic keys %v, reports.Stats() %v", keys, stats)
	}
}

func TestParseGenerateCorrections(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  string
		want bool
	}{
		{"absent", "", false},               // existing scenarios generate what they did
		{"on", ", corrections: true", true}, // each match's settlement corrected
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: x\ndescription: y\nload:\n  generate: {profile: football, matches: 1, bettors: 1, duration: 60s" + tt.key + "}\n"
			sc, err := Parse("x.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if sc.Generate.Corrections != tt.want {
				t.Fatalf("corrections = %v, want %v", sc.Generate.Corrections, tt.want)
			}
		})
	}
}
