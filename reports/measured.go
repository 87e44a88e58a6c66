package reports

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Measured is what a load tool other than inplay's own engine measured
// (k6, through replay/k6): no journal, only a histogram per latency metric
// and a count per ratio metric, already reduced. Such a tool injects no
// faults, so every sample is in the steady phase.
type Measured struct {
	// Latencies maps a latency metric (bet_acceptance) to its samples in
	// µs, in a histogram from NewLatencyHistogram filled by
	// RecordLatency.
	Latencies map[string]*hdrhistogram.Histogram
	// Ratios maps a ratio metric (error_rate) to its counts.
	Ratios map[string]Ratio
}

// Ratio counts the samples of a ratio metric: Ones of Total had the value
// 1 (for error_rate: an unknown outcome).
type Ratio struct {
	Ones, Total int
}

// NewLatencyHistogram returns a histogram of µs with the range and
// precision every latency of a report uses (1 µs to 1 h, 3 significant
// figures), so that a Measured percentile is the same figure a replay's
// would be for the same samples.
func NewLatencyHistogram() *hdrhistogram.Histogram { return newHistogram() }

// RecordLatency adds us to h as a replay's measurements do: a negative
// value counts as 0, anything beyond an hour as an hour.
func RecordLatency(h *hdrhistogram.Histogram, us int64) { record(h, us) }

// EvaluateMeasured evaluates objs over m with the same statistics, limits,
// texts and notes as EvaluateObjectives. With no faults, phases all and
// steady take every sample; fault and recovery have none, so an objective
// for them fails with "no samples", as it would in a run whose fault never
// went in, and one for a fault:NAME phase fails as naming no fault. A metric m does not hold has no samples either.
func EvaluateMeasured(objs []Objective, m Measured) []SLOResult {
	out := make([]SLOResult, 0, len(objs))
	for _, o := range objs {
		o, res, met, ok := begin(o, nil)
		if !ok {
			out = append(out, res)
			continue
		}
		var (
			h       = newHistogram()
			n, ones int
		)
		if o.Phase == PhaseAll || o.Phase == PhaseSteady {
			if met.Unit == UnitPercent {
				r := m.Ratios[o.Metric]
				n, ones = r.Total, r.Ones
			} else if mh := m.Latencies[o.Metric]; mh != nil {
				h, n = mh, int(mh.TotalCount())
			}
		}
		conclude(&res, o, met, h, n, ones)
		out = append(out, res)
	}
	return out
}

// External describes a run made by another load tool, for EvaluateExternal.
type External struct {
	Tool         string // the tool that made the run, e.g. "k6"; shown as the run id
	ScenarioName string
	Seed         int64
	StartedAt    time.Time     // the first sample's time
	Wall         time.Duration // from the first sample to the last
	Speed        float64
	Headroom     float64
	Load         Load // what the tool sent; Dropped is what it could not start on time
	Measured     Measured
	Objectives   []Objective
	Problems     []string // anything a reader of the verdict must know
}

// EvaluateExternal reaches the verdict of a run another tool made, with
// Evaluate's precedence less reconciliation, which needs a ledger the tool
// does not read: 5 when the tool dropped requests or sent none (its
// latencies are not trustworthy, or there are none), else 1 when an SLO
// was breached, else 0.
func EvaluateExternal(in External) *Report {
	r := &Report{
		Schema:     Schema,
		Scenario:   ScenarioRef{Name: in.ScenarioName, Seed: in.Seed},
		Run:        RunInfo{ID: in.Tool, StartedAt: in.StartedAt.UTC(), WallS: in.Wall.Seconds(), Speed: in.Speed, Headroom: in.Headroom},
		Load:       in.Load,
		SLOs:       EvaluateMeasured(in.Objectives, in.Measured),
		Invariants: []Invariant{},
		Faults:     []Fault{},
		Problems:   append([]string{}, in.Problems...),
	}
	invalid := false
	if in.Load.Sent == 0 {
		invalid = true
		r.Problems = append(r.Problems, fmt.Sprintf("%s sent no requests, so nothing was measured", in.Tool))
	}
	if in.Load.Dropped > 0 {
		invalid = true
		r.Problems = append(r.Problems, fmt.Sprintf(
			"%s fell behind: %d iterations were dropped (no free VU at their start time); raise maxVUs or use more load generators",
			in.Tool, in.Load.Dropped))
	}
	for _, err := range ValidateObjectives(in.Objectives, nil) {
		r.Problems = append(r.Problems, err.Error())
	}
	r.ExitCode, r.Verdict = verdict(nil, invalid, r.SLOs)
	return r
}
