package k6

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// MaxResultsLine is the longest line ImportResults accepts, in bytes; k6
// writes a few hundred, so a longer one is a broken file.
const MaxResultsLine = 1 << 20

// ReadOptions shape ImportResults.
type ReadOptions struct {
	// Source names the input in errors, e.g. its file name.
	Source string
	// SkipBad counts a bad line and goes on, instead of stopping at it.
	SkipBad bool
}

// LineError is a line of k6's output that could not be read.
type LineError struct {
	Source string
	Line   int
	Msg    string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
}

// KindStats is what a k6 run did for one kind of request.
type KindStats struct {
	Requests int
	Accepted int
	Rejected int
	Unknown  int
	// Latency is http_req_duration in µs (reports.NewLatencyHistogram).
	Latency *hdrhistogram.Histogram
}

// Results is what ImportResults read from k6's JSON output.
type Results struct {
	// Kinds holds the requests by their kind tag. Requests without one
	// were not made by an inplay export and are counted in Untagged only.
	Kinds    map[string]*KindStats
	Untagged int
	// Dropped is dropped_iterations: iterations k6 could not start on
	// time, because no VU was free.
	Dropped int
	// First and Last are the times of the first and last request.
	First, Last time.Time
	Lines       int // lines read
	// BadLines counts lines skipped under SkipBad; Bad holds the first
	// few of them.
	BadLines int
	Bad      []*LineError
}

// keptBad is how many skipped lines Results keeps to show.
const keptBad = 10

// envelope is one line of k6's JSON output, as far as telling its type
// and metric apart; the rest is decoded strictly once the metric is known
// (https://grafana.com/docs/k6/latest/results-output/real-time/json/).
type envelope struct {
	Type   string          `json:"type"`
	Metric string          `json:"metric"`
	Data   json.RawMessage `json:"data"`
}

// pointData is a Point's data: a sample of a metric.
type pointData struct {
	Time     time.Time         `json:"time"`
	Value    *float64          `json:"value"`
	Tags     map[string]string `json:"tags"`
	Metadata map[string]string `json:"metadata"`
}

// metricData is a Metric line's data: the declaration of a metric.
type metricData struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Contains   string          `json:"contains"`
	Tainted    *bool           `json:"tainted"`
	Thresholds json.RawMessage `json:"thresholds"`
	Submetrics json.RawMessage `json:"submetrics"`
}

// knownMetrics are the k6 metrics ImportResults reads, with the type k6
// declares them with; every other metric is skipped unread.
var knownMetrics = map[string]string{
	MetricReqDuration:       "trend",
	MetricDroppedIterations: "counter",
}

// ImportResults reads k6's `--out json` output (NDJSON; gzipped when it
// starts with gzip's magic bytes, as `--out json=FILE.gz` writes it):
// http_req_duration Points become a latency histogram and outcome counts
// per kind tag, dropped_iterations Points the count of iterations k6
// could not start. Lines of metrics it does not read are skipped; the
// lines it reads are decoded strictly. A bad line is a *LineError naming
// the source and line, unless opts.SkipBad, which counts it and goes on.
func ImportResults(r io.Reader, opts ReadOptions) (*Results, error) {
	if opts.Source == "" {
		opts.Source = "k6 results"
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: not a readable gzip file: %w", opts.Source, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	res := &Results{Kinds: map[string]*KindStats{}}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64<<10), MaxResultsLine)
	for sc.Scan() {
		res.Lines++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if msg := res.line(line); msg != "" {
			le := &LineError{Source: opts.Source, Line: res.Lines, Msg: msg}
			if !opts.SkipBad {
				return nil, le
			}
			res.BadLines++
			if len(res.Bad) < keptBad {
				res.Bad = append(res.Bad, le)
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &LineError{Source: opts.Source, Line: res.Lines + 1, Msg: fmt.Sprintf("line longer than %d bytes: not k6 JSON output", MaxResultsLine)}
		}
		// A truncated gzip file ends here, never as a silently short run.
		return nil, fmt.Errorf("%s: reading after line %d: %w", opts.Source, res.Lines, err)
	}
	return res, nil
}

// line reads one non-empty line into res, or says what is wrong with it.
func (res *Results) line(b []byte) string {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return "not a JSON object of k6's output: " + jsonProblem(err)
	}
	if env.Metric == "" {
		return `no "metric": not a line of k6's JSON output`
	}
	want, known := knownMetrics[env.Metric]
	switch env.Type {
	case "Metric":
		if !known {
			return ""
		}
		if err := strictEnvelope(b); err != "" {
			return err
		}
		var md metricData
		if err := decodeStrict(env.Data, &md); err != nil {
			return "metric " + env.Metric + ": " + jsonProblem(err)
		}
		if md.Type != want {
			return fmt.Sprintf("metric %s is declared a %q; k6 makes it a %q, so this is not k6's %s", env.Metric, md.Type, want, env.Metric)
		}
		return ""
	case "Point":
		if !known {
			return ""
		}
		if err := strictEnvelope(b); err != "" {
			return err
		}
		var p pointData
		if err := decodeStrict(env.Data, &p); err != nil {
			return "point of " + env.Metric + ": " + jsonProblem(err)
		}
		return res.point(env.Metric, p)
	case "":
		return `no "type": not a line of k6's JSON output`
	default:
		return fmt.Sprintf("type %q is neither Metric nor Point", env.Type)
	}
}

// strictEnvelope checks that a line has no fields beyond type, metric and data.
func strictEnvelope(b []byte) string {
	var env envelope
	if err := decodeStrict(b, &env); err != nil {
		return jsonProblem(err)
	}
	if len(env.Data) == 0 || bytes.Equal(env.Data, []byte("null")) {
		return `no "data"`
	}
	return ""
}

// point adds one sample of a metric it reads.
func (res *Results) point(metric string, p pointData) string {
	if p.Time.IsZero() {
		return "point of " + metric + ` has no "time"`
	}
	if p.Value == nil {
		return "point of " + metric + ` has no "value"`
	}
	v := *p.Value
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("point of %s has value %v; it must be a number of at least 0", metric, v)
	}
	switch metric {
	case MetricDroppedIterations:
		if v != math.Trunc(v) || v > math.MaxInt32 {
			return fmt.Sprintf("point of %s has value %v; a count is a whole number", metric, v)
		}
		res.Dropped += int(v)
	case MetricReqDuration:
		status, ok := p.Tags["status"]
		if !ok {
			return "point of " + metric + ` has no "status" tag: k6 always tags a request with its status`
		}
		code, err := strconv.Atoi(status)
		if err != nil || code < 0 || code > 999 {
			return fmt.Sprintf("point of %s has status %q, not an HTTP status", metric, status)
		}
		kind, ok := p.Tags[KindTag]
		if !ok {
			res.Untagged++
			return ""
		}
		ks := res.Kinds[kind]
		if ks == nil {
			ks = &KindStats{Latency: reports.NewLatencyHistogram()}
			res.Kinds[kind] = ks
		}
		ks.Requests++
		switch replay.OutcomeOfStatus(code) {
		case replay.OutcomeAccepted:
			ks.Accepted++
		case replay.OutcomeRejected:
			ks.Rejected++
		default:
			ks.Unknown++
		}
		reports.RecordLatency(ks.Latency, int64(math.Round(v*1000))) // ms → µs
		if res.First.IsZero() || p.Time.Before(res.First) {
			res.First = p.Time
		}
		if p.Time.After(res.Last) {
			res.Last = p.Time
		}
	}
	return ""
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// jsonProblem words a decoding error for a person.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q is a JSON %s, not a %s", te.Field, te.Value, te.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Evaluate gives the verdict inplay gives for these results against sc:
// bet_acceptance from the bet requests' http_req_duration, error_rate as
// the share of requests (every kind) with an unknown outcome, both with
// reports' own statistics; the objectives k6 cannot measure are listed in
// the report's problems and left out of the verdict. Exit codes: 0 pass,
// 1 an SLO breached, 5 when k6 dropped iterations or sent nothing.
func (res *Results) Evaluate(sc Scenario) *reports.Report {
	measured, notMeasured := Split(sc.Objectives)
	bets := reports.NewLatencyHistogram()
	var errs reports.Ratio
	load := reports.Load{Dropped: res.Dropped}
	for kind, ks := range res.Kinds {
		load.Sent += ks.Requests
		errs.Total += ks.Requests
		errs.Ones += ks.Unknown
		if kind == string(replay.KindBet) {
			bets.Merge(ks.Latency)
			load.Bets = reports.BetCount{Sent: ks.Requests, Accepted: ks.Accepted, Rejected: ks.Rejected, Unknown: ks.Unknown}
		}
	}
	load.Planned = load.Sent + load.Dropped
	wall := res.Last.Sub(res.First)
	if wall > 0 {
		load.RatePerS = float64(load.Sent) / wall.Seconds()
	}
	problems := []string{
		"measured by k6: latency runs from when k6 sent each request, not from its intended time; an iteration k6 could not start on time is counted as dropped instead",
		"no reconciliation: k6 reads no ledger",
	}
	for _, n := range notMeasured {
		problems = append(problems, "not measured by k6: "+n)
	}
	if res.Untagged > 0 {
		problems = append(problems, fmt.Sprintf("%d requests had no %q tag and were left out: they were not sent by an inplay export", res.Untagged, KindTag))
	}
	if res.BadLines > 0 {
		problems = append(problems, fmt.Sprintf("%d bad lines of the results were skipped (--skip-bad); the first: %v", res.BadLines, res.Bad[0]))
	}
	return reports.EvaluateExternal(reports.External{
		Tool:         "k6",
		ScenarioName: sc.Name,
		Seed:         sc.Seed,
		StartedAt:    res.First,
		Wall:         wall,
		Speed:        sc.Speed,
		Headroom:     sc.Headroom,
		Load:         load,
		Measured: reports.Measured{
			Latencies: map[string]*hdrhistogram.Histogram{reports.MetricBetAcceptance: bets},
			Ratios:    map[string]reports.Ratio{reports.MetricErrorRate: errs},
		},
		Objectives: measured,
		Problems:   problems,
	})
}

// KindNames returns the kinds in res, sorted.
func (res *Results) KindNames() []string {
	names := make([]string, 0, len(res.Kinds))
	for k := range res.Kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
