// Package k6 is inplay's interop with Grafana k6, without importing k6 (it
// is AGPL): Export writes a scenario's bettor traffic as a k6 script that
// uses only k6's built-in modules, and ImportResults reads what k6's
// `--out json` wrote and gives the verdict inplay would give for it.
//
// It lives under replay because a k6 script is another way to replay a
// capture (DESIGN.md's layout names replay/k6). Like replay and reports it
// never imports platform, nor scenarios (which wires the reference
// platform): the CLI loads and plans the scenario and hands over a Plan
// and the objectives. docs/k6.md is the user's guide.
package k6

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// Scenario is what a k6 script and its verdict need from a scenario.
type Scenario struct {
	Name       string
	Seed       int64
	Speed      float64 // capture time / wall time, already applied to the Plan
	Headroom   float64 // bettor traffic multiplier, already applied to the Plan
	Objectives []reports.Objective
}

// The k6 metrics an export thresholds and an import reads. Their names
// and value units are k6's (https://grafana.com/docs/k6/latest/using-k6/metrics/reference/).
const (
	// MetricReqDuration is k6's request time in milliseconds, one Point per
	// request, tagged by the export with kind and status.
	MetricReqDuration = "http_req_duration"
	// MetricReqFailed is k6's per-request failure rate; the export's
	// response callback makes exactly the unknown outcomes failures.
	MetricReqFailed = "http_req_failed"
	// MetricDroppedIterations counts iterations an arrival-rate executor
	// could not start on time (no free VU): the load fell behind.
	MetricDroppedIterations = "dropped_iterations"
)

// KindTag is the tag every exported request carries: the capture event's
// kind (bet, deposit, withdraw or cashout).
const KindTag = "kind"

// objectiveMapping is one row of the table that says how an inplay metric
// is measured under k6: the threshold it exports as, or why it cannot be.
// Export and ImportResults both read it, so what is thresholded is what is
// judged on import.
type objectiveMapping struct {
	metric string // inplay's metric
	k6     string // the k6 metric (with a tag filter) the threshold is on; "" = not measurable
	why    string // when k6 cannot measure it: why
}

var objectiveMappings = []objectiveMapping{
	{metric: reports.MetricBetAcceptance, k6: MetricReqDuration + "{" + KindTag + ":" + string(replay.KindBet) + "}"},
	{metric: reports.MetricErrorRate, k6: MetricReqFailed},
	{metric: reports.MetricQuoteLatency, why: "measured on the platform's quote stream against the feed's intended send times; a k6 run sends no feed"},
	{metric: reports.MetricOddsStaleness, why: "measured on the platform's quote stream against the feed's intended send times; a k6 run sends no feed"},
	{metric: reports.MetricSettlementLag, why: "needs the platform's ledger and the feed's results; a k6 run reads neither"},
}

// mapping returns how objective o is measured under k6, or why it is not.
func mapping(o reports.Objective) (k6Metric, why string) {
	switch o.Phase {
	case reports.PhaseFault, reports.PhaseRecovery:
		return "", "phase " + o.Phase + ": k6 injects no faults, so its run has no fault or recovery phase"
	}
	for _, m := range objectiveMappings {
		if m.metric == o.Metric {
			return m.k6, m.why
		}
	}
	return "", fmt.Sprintf("%q is not a metric inplay knows", o.Metric)
}

// Split sorts objs into those a k6 run measures (phases all and steady
// of bet_acceptance and error_rate; with no faults every sample is
// steady) and one line for each of the rest, saying why not.
func Split(objs []reports.Objective) (measured []reports.Objective, notMeasured []string) {
	for _, o := range objs {
		if k6m, why := mapping(o); k6m == "" {
			notMeasured = append(notMeasured, fmt.Sprintf("%s %s (phase %s): %s", o.Metric, objectiveText(o), phaseOf(o), why))
			continue
		}
		measured = append(measured, o)
	}
	return measured, notMeasured
}

// threshold is o as a k6 threshold expression on its k6 metric:
// "p(99)<=250" (ms) for a latency, "rate<=0.005" for error_rate.
func threshold(o reports.Objective) string {
	if o.Metric == reports.MetricErrorRate {
		return "rate<=" + strconv.FormatFloat(o.Limit/100, 'f', -1, 64)
	}
	// k6 names a percentile by its value (p(99.9)), and the maximum max;
	// reports' statistic table says which percentile each stat is.
	agg := "max"
	if st, _ := reports.LookupStat(o.Stat); st.Percentile < 100 {
		agg = "p(" + strconv.FormatFloat(st.Percentile, 'f', -1, 64) + ")"
	}
	return agg + "<=" + strconv.FormatFloat(o.Limit, 'f', -1, 64)
}

// objectiveText is "p99 <= 250ms" or "max <= 0.5%", as report.json writes it.
func objectiveText(o reports.Objective) string {
	if o.Metric == reports.MetricErrorRate {
		return o.Stat + " <= " + strconv.FormatFloat(o.Limit, 'f', -1, 64) + "%"
	}
	return o.Stat + " <= " + time.Duration(math.Round(o.Limit*float64(time.Millisecond))).String()
}

func phaseOf(o reports.Objective) string {
	if o.Phase == "" {
		return reports.PhaseAll
	}
	return o.Phase
}
