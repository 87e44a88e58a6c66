package k6

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// DefaultBaseURL is where an exported script sends its requests when
// INPLAY_API_URL is not set: `inplay platform`'s default --listen.
const DefaultBaseURL = "http://127.0.0.1:8080"

// DefaultMaxSteps bounds the steps of an exported rate shape: one per
// second of wall time up to this many, then wider steps. Each step is two
// k6 stages (a jump and a hold).
const DefaultMaxSteps = 300

// preAllocatedFor is how much of a second of peak traffic gets a VU
// allocated before the test starts; k6 adds more, up to maxVUs, as
// answers slow down.
const preAllocatedFor = 100 * time.Millisecond

// Options shape an exported script.
type Options struct {
	// BaseURL is the API the script sends to when INPLAY_API_URL is not set
	// at run time (default DefaultBaseURL).
	BaseURL string
	// DataFile is the name, relative to the script, of the file that holds
	// the requests (default "requests.json"). The script reads it with
	// open(), so the two must sit in the same folder (or ConfigMap).
	DataFile string
	// Inline puts the requests in the script itself instead: one file to
	// ship, but every VU parses its own copy, so keep it for small captures.
	Inline bool
	// MaxSteps bounds the rate shape's steps (default DefaultMaxSteps).
	MaxSteps int
	// Timeout bounds one request, after which its outcome is unknown
	// (default replay.DefaultRequestTimeout, as a replay's).
	Timeout time.Duration
	// MaxVUs caps the VUs; 0 sizes them so that every request of the peak
	// second can wait the whole Timeout without an iteration being dropped.
	MaxVUs int
}

// Step is one step of an exported rate shape: Requests iterations start,
// evenly spread, over Duration.
type Step struct {
	Duration time.Duration
	Requests int
}

// Script is an exported k6 test.
type Script struct {
	JS       []byte // the script
	Data     []byte // the requests file's contents (a JSON array); nil when inline
	DataFile string // where the script expects Data, relative to itself; "" when inline
	// Requests is how many requests the script sends: the plan's bettor
	// events, headroom clones included, in plan order.
	Requests int
	// Steps is the rate shape; their durations add up to the plan's wall
	// duration (rounded up to the millisecond).
	Steps           []Step
	PreAllocatedVUs int
	MaxVUs          int
	// Thresholds maps a k6 metric to its threshold expressions, one per
	// objective k6 measures.
	Thresholds map[string][]string
	// NotExported lists, one line each, the objectives k6 cannot measure
	// and why; the script names them in a comment.
	NotExported []string
}

// request is one element of the requests array: [kind, path, body].
// Arrays, not objects, because a SharedArray of a large capture is held
// once per process and read by every VU.
type request [3]string

// Export turns plan's bettor events (after speed and headroom) into a k6
// script whose ramping-arrival-rate executor starts one iteration per
// request, following the plan's rate shape step by step, and whose
// thresholds are sc's objectives that k6 can measure. Iteration i sends
// request i (exec.scenario.iterationInTest), so the requests go in plan
// order, across every k6 instance of a distributed run. Feed events are
// not exported: the platform gets its odds from a feed, not from k6.
func Export(sc Scenario, plan *replay.Plan, opts Options) (*Script, error) {
	if plan == nil {
		return nil, errors.New("k6 export: no plan")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.DataFile == "" && !opts.Inline {
		opts.DataFile = "requests.json"
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.Timeout <= 0 {
		opts.Timeout = replay.DefaultRequestTimeout
	}

	var reqs []request
	var ats []time.Duration
	for _, p := range plan.Entries {
		if p.Event.Kind.IsFeed() {
			continue
		}
		r, err := replay.RequestFor(p.Event)
		if err != nil {
			return nil, fmt.Errorf("k6 export: event %s %q: %w", p.Event.Kind, p.Event.ID, err)
		}
		reqs = append(reqs, request{string(p.Event.Kind), r.Path, string(r.Body)})
		ats = append(ats, p.At)
	}
	if len(reqs) == 0 {
		return nil, errors.New("k6 export: the capture has no bettor events (bets, deposits, withdrawals, cash-outs) to send; " +
			"overlay bettors on it or choose another capture")
	}
	total := plan.Duration
	if last := ats[len(ats)-1]; last >= total {
		total = last + time.Millisecond // an event at the very end still needs time to start
	}
	steps, unit := rateShape(ats, total, opts.MaxSteps)

	s := &Script{Requests: len(reqs), Steps: steps, Thresholds: map[string][]string{}}
	peak := 0.0
	for _, st := range steps {
		peak = max(peak, float64(st.Requests)/st.Duration.Seconds())
	}
	s.PreAllocatedVUs = max(1, int(math.Ceil(peak*preAllocatedFor.Seconds())))
	s.MaxVUs = max(s.PreAllocatedVUs, int(math.Ceil(peak*opts.Timeout.Seconds())))
	if opts.MaxVUs > 0 {
		s.MaxVUs = opts.MaxVUs
		s.PreAllocatedVUs = min(s.PreAllocatedVUs, s.MaxVUs)
	}

	measured, notExported := Split(sc.Objectives)
	s.NotExported = notExported
	for _, o := range measured {
		k6m, _ := mapping(o)
		if t := threshold(o); !slices.Contains(s.Thresholds[k6m], t) {
			// all and steady are the same samples under k6: one threshold.
			s.Thresholds[k6m] = append(s.Thresholds[k6m], t)
		}
	}

	data, err := json.Marshal(reqs)
	if err != nil {
		return nil, fmt.Errorf("k6 export: %w", err)
	}
	if !opts.Inline {
		s.Data, s.DataFile = append(data, '\n'), opts.DataFile
	}
	s.JS, err = render(sc, s, unit, opts, data)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// rateShape lays the send times ats (sorted, each < total) out as steps of
// a piecewise-constant rate. Every step but the last is unit long, so
// that with timeUnit = unit a step's target is exactly its request count;
// the last takes the remainder and a target rounded up, so the shape
// starts at least as many iterations as there are requests. Neighbouring
// steps with the same count are merged.
func rateShape(ats []time.Duration, total time.Duration, maxSteps int) ([]Step, time.Duration) {
	totalMS := int64(math.Ceil(float64(total) / float64(time.Millisecond)))
	// One step a second, or whole seconds each when that makes too many;
	// a capture shorter than a second is one step.
	unitMS := int64(1000) * max(1, (totalMS+int64(maxSteps)*1000-1)/(int64(maxSteps)*1000))
	unitMS = min(unitMS, max(1, totalMS))
	n := max(1, totalMS/unitMS) // the last step absorbs the remainder
	counts := make([]int, n)
	for _, at := range ats {
		i := min(int64(at/time.Millisecond)/unitMS, n-1)
		counts[i]++
	}
	unit := time.Duration(unitMS) * time.Millisecond
	var steps []Step
	prev := -1 // requests per unit of the step before
	for i, c := range counts {
		d := unit
		if int64(i) == n-1 {
			d = time.Duration(totalMS-unitMS*(n-1)) * time.Millisecond
		}
		if d == unit && c == prev {
			steps[len(steps)-1].Duration += unit
			steps[len(steps)-1].Requests += c
			continue
		}
		steps = append(steps, Step{Duration: d, Requests: c})
		prev = c
	}
	return steps, unit
}

// target is a step's rate per unit: exact for whole steps, rounded up
// for the last, shorter or longer one.
func target(st Step, unit time.Duration) int {
	return int(math.Ceil(float64(st.Requests) * float64(unit) / float64(st.Duration)))
}

// jsString is s as a JavaScript string literal (JSON's escaping is a
// subset of what JavaScript accepts, and escapes <, > and &).
func jsString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<=" reads better than "\u003c=", and a script is not HTML
	_ = enc.Encode(s)        // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// comment flattens s onto one line, for a // comment.
func comment(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// msDuration writes d as k6 reads a duration: whole milliseconds.
func msDuration(d time.Duration) string {
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// routeNames are the name tags of the requests: the route, not the URL,
// so k6 does not make one time series per account or bet.
var routeNames = map[replay.Kind]string{
	replay.KindBet:      "POST /v1/bets",
	replay.KindDeposit:  "POST /v1/accounts/{account}/deposits",
	replay.KindWithdraw: "POST /v1/accounts/{account}/withdrawals",
	replay.KindCashout:  "POST /v1/bets/{bet}/cashout",
}

func render(sc Scenario, s *Script, unit time.Duration, opts Options, data []byte) ([]byte, error) {
	var stages []string
	last := 1
	for _, st := range s.Steps {
		t := target(st, unit)
		// A jump to the step's rate, then a hold: a piecewise-constant shape.
		stages = append(stages, fmt.Sprintf("{ duration: '0s', target: %d }, { duration: '%s', target: %d }", t, msDuration(st.Duration), t))
		last = max(t, 1)
	}
	// A tail of one unit at the last rate: k6 spreads a stage's iterations
	// over it and may leave the last one to the stage's very end, where it
	// is not started (seen: 119 of 120). Iterations past the requests send
	// nothing, so the tail only makes sure the last request goes.
	stages = append(stages, fmt.Sprintf("{ duration: '%s', target: %d }", msDuration(unit), last))
	var thresholds []string
	for _, k := range slices.Sorted(mapKeys(s.Thresholds)) {
		var exprs []string
		for _, e := range s.Thresholds[k] {
			exprs = append(exprs, jsString(e))
		}
		thresholds = append(thresholds, fmt.Sprintf("%s: [%s]", jsString(k), strings.Join(exprs, ", ")))
	}
	names := map[string]string{}
	for k, v := range routeNames {
		names[string(k)] = v
	}
	namesJSON, _ := json.Marshal(names)
	var wall time.Duration
	for _, st := range s.Steps {
		wall += st.Duration
	}
	v := map[string]any{
		"Name":        comment(sc.Name),
		"Seed":        sc.Seed,
		"Speed":       sc.Speed,
		"Headroom":    sc.Headroom,
		"Requests":    s.Requests,
		"Wall":        wall.String(),
		"BaseURL":     jsString(opts.BaseURL),
		"DataFile":    s.DataFile,
		"DataFileJS":  jsString("./" + s.DataFile),
		"Inline":      opts.Inline,
		"Data":        string(data),
		"Unit":        msDuration(unit),
		"PreVUs":      s.PreAllocatedVUs,
		"MaxVUs":      s.MaxVUs,
		"Stages":      stages,
		"Thresholds":  thresholds,
		"NotExported": s.NotExported,
		"Timeout":     msDuration(opts.Timeout),
		"Names":       string(namesJSON),
		"KindTag":     KindTag,
	}
	var b bytes.Buffer
	if err := scriptTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("k6 export: %w", err)
	}
	return b.Bytes(), nil
}

func mapKeys(m map[string][]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

var scriptTemplate = template.Must(template.New("script").Funcs(template.FuncMap{"comment": comment}).Parse(
	`// inplay k6 export of scenario {{.Name}} (seed {{.Seed}}): {{.Requests}} bettor requests
// over {{.Wall}} of wall time (the capture at speed {{.Speed}}, headroom {{.Headroom}}).
// Written by 'inplay k6 export'; change the scenario and export again rather
// than editing this file. It uses k6's built-in modules only.
//
// Run it:     k6 run --out json=results.json script.js
// Elsewhere:  INPLAY_API_URL=http://platform:8080 k6 run ...
// Judge it:   inplay k6 import results.json --scenario SCENARIO.yaml
{{- if not .Inline}}
//
// The requests are in {{.DataFile}}, read with open() relative to this
// script: keep the two together (one folder, or one ConfigMap under
// k6-operator).
{{- end}}
//
// Not exported: the feed (the platform needs its odds from a feed server,
// e.g. 'inplay feedsim'), the fault plan (k6 injects no faults) and
// reconciliation (k6 reads no ledger).
{{- if .NotExported}}
// Objectives k6 cannot measure, so not thresholds here:
{{- range .NotExported}}
//   - {{comment .}}
{{- end}}
{{- end}}
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';

const BASE = (__ENV.INPLAY_API_URL || {{.BaseURL}}).replace(/\/+$/, '');

// Each request is [kind, path, body], in the order of inplay's replay plan.
{{- if .Inline}}
const requests = {{.Data}};
{{- else}}
const requests = new SharedArray('inplay requests', function () {
  return JSON.parse(open({{.DataFileJS}}));
});
{{- end}}

// The route of each kind, as the name tag, so that k6 keeps one time
// series per route rather than one per account or bet.
const NAMES = {{.Names}};

// A 2xx answer is accepted and a 4xx rejected: both are answers, as inplay
// judges them. Anything else (5xx, 3xx, a timeout, a transport error) is
// an unknown outcome, and only those count in http_req_failed, which is
// inplay's error_rate.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, { min: 400, max: 499 }));

export const options = {
  scenarios: {
    replay: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '{{.Unit}}',
      preAllocatedVUs: {{.PreVUs}},
      maxVUs: {{.MaxVUs}},
      stages: [
{{- range .Stages}}
        {{.}},
{{- end}}
      ],
      gracefulStop: '{{.Timeout}}',
    },
  },
  thresholds: {
{{- range .Thresholds}}
    {{.}},
{{- end}}
  },
  summaryTrendStats: ['min', 'med', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'max'],
};

// outcome is what inplay's HTTP target makes of a status.
function outcome(status) {
  if (status >= 200 && status < 300) return 'accepted';
  if (status >= 400 && status < 500) return 'rejected';
  return 'unknown';
}

export default function () {
  const i = exec.scenario.iterationInTest;
  // The last step's rate is rounded up: a spare iteration sends nothing.
  if (i >= requests.length) return;
  const r = requests[i];
  const res = http.post(BASE + r[1], r[2], {
    headers: { 'Content-Type': 'application/json' },
    tags: { {{.KindTag}}: r[0], name: NAMES[r[0]] },
    timeout: '{{.Timeout}}',
  });
  check(res, {
    'answered (2xx accepted or 4xx rejected)': (res) => outcome(res.status) !== 'unknown',
  }, { {{.KindTag}}: r[0] });
}
`))
