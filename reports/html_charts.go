package reports

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-analyze/charts"
)

// A chart of report.html: a title, a caption, and its SVG, drawn by
// go-analyze/charts from the report's timeline with the fault windows
// shaded behind the lines.
type htmlChart struct {
	ID      string
	Title   string
	Caption string
	SVG     template.HTML // built here from numbers and fixed text only
}

// chartSeries is one line of a chart: a value per timeline bucket, NaN
// where the bucket has none.
type chartSeries struct {
	name   string
	color  charts.Color
	values []float64
}

// Chart geometry: the SVG scales with its viewBox, so these are
// proportions, not pixels on the page.
const (
	chartWidth  = 960
	chartHeight = 300
)

// Colors of the series and of the shaded windows (colour-blind safe
// Okabe-Ito hues).
var (
	colorBlue     = charts.Color{R: 0, G: 114, B: 178, A: 255}
	colorOrange   = charts.Color{R: 230, G: 159, B: 0, A: 255}
	colorVermil   = charts.Color{R: 213, G: 94, B: 0, A: 255}
	colorPurple   = charts.Color{R: 204, G: 121, B: 167, A: 255}
	colorGreen    = charts.Color{R: 0, G: 158, B: 115, A: 255}
	colorSky      = charts.Color{R: 86, G: 180, B: 233, A: 255}
	shadeFault    = "rgba(213,94,0,0.16)"
	shadeRecovery = "rgba(230,159,0,0.10)"
)

// The two probe series, drawn in colors no real series uses and removed
// from the SVG afterwards: their paths give the plot area's x of every
// bucket and its bottom and top, which the library does not expose, so the
// fault windows are placed exactly where the lines' buckets are.
var (
	probeLow  = charts.Color{R: 1, G: 2, B: 3, A: 255}
	probeHigh = charts.Color{R: 3, G: 2, B: 1, A: 255}
)

// timelineCharts draws r's timeline; none when it has no timeline or no
// buckets.
func timelineCharts(r *Report) ([]htmlChart, error) {
	tl := r.Timeline
	if tl == nil || len(tl.Buckets) == 0 || tl.BucketS <= 0 {
		return nil, nil
	}
	n := len(tl.Buckets)
	col := func(f func(TimelineBucket) float64) []float64 {
		out := make([]float64, n)
		for i, b := range tl.Buckets {
			out[i] = f(b)
		}
		return out
	}
	lat := func(f func(*Percentiles) float64) []float64 {
		return col(func(b TimelineBucket) float64 {
			if b.LatencyMS == nil {
				return math.NaN()
			}
			return f(b.LatencyMS)
		})
	}
	opt := func(p func(TimelineBucket) *float64) []float64 {
		return col(func(b TimelineBucket) float64 {
			if v := p(b); v != nil {
				return *v
			}
			return math.NaN()
		})
	}
	perS := func(c func(TimelineBucket) int) []float64 {
		return col(func(b TimelineBucket) float64 { return float64(c(b)) / tl.BucketS })
	}
	win := windowsOf(r)
	bucket := strconv.FormatFloat(tl.BucketS, 'f', -1, 64) + " s"

	specs := []struct {
		id, title, unit, caption string
		series                   []chartSeries
	}{
		{"latency", "Bettor request latency", "ms",
			"Bets, deposits, withdrawals and cash-outs, from each request's intended send to its answer (timeouts included), per " + bucket + " of intended send time.",
			[]chartSeries{
				{"p50", colorBlue, lat(func(p *Percentiles) float64 { return p.P50 })},
				{"p95", colorGreen, lat(func(p *Percentiles) float64 { return p.P95 })},
				{"p99", colorOrange, lat(func(p *Percentiles) float64 { return p.P99 })},
			}},
		// The max apart: one timeout would flatten every percentile above.
		{"latency-max", "Bettor request latency, slowest", "ms",
			"The slowest bettor request of each " + bucket + " bucket, from its intended send; a timed-out request counts as the time the harness gave up.",
			[]chartSeries{{"max", colorVermil, lat(func(p *Percentiles) float64 { return p.Max })}}},
		{"throughput", "Throughput", "per second",
			"Bettor requests and feed messages sent, per second of each " + bucket + " bucket of intended send time.",
			[]chartSeries{
				{"requests/s", colorBlue, perS(func(b TimelineBucket) int { return b.Sent })},
				{"feed/s", colorSky, perS(func(b TimelineBucket) int { return b.Feed })},
			}},
		// Apart from the throughput, whose scale would hide a few errors.
		{"errors", "Errors, rejections and drops", "per second",
			"Bettor requests with an unknown outcome (errors: timeouts, transport errors, 5xx), refused by the platform (rejected), and sends the generator dropped, per second of each " + bucket + " bucket.",
			[]chartSeries{
				{"rejected/s", colorOrange, perS(func(b TimelineBucket) int { return b.Rejected })},
				{"errors/s", colorVermil, perS(func(b TimelineBucket) int { return b.Errors })},
				{"dropped/s", colorPurple, perS(func(b TimelineBucket) int { return b.Dropped })},
			}},
		{"lag", "Schedule lag", "ms",
			"How late the generator sent, p99 per " + bucket + ": a run whose lag p99 passes its bound is invalid, its latencies untrustworthy.",
			[]chartSeries{{"lag p99", colorPurple, col(func(b TimelineBucket) float64 { return b.ScheduleLagP99MS })}}},
	}
	if tl.Buckets[0].QuoteLatencyP99MS != nil || tl.Buckets[0].OddsStalenessP99MS != nil {
		specs = append(specs, struct {
			id, title, unit, caption string
			series                   []chartSeries
		}{"quotes", "Quote latency and odds staleness", "ms",
			"p99 per " + bucket + ": a feed update's intended send to the first quote as new at each subscriber, and how far each subscriber's view lagged the feed (sampled every 100 ms).",
			[]chartSeries{
				{"quote latency p99", colorBlue, opt(func(b TimelineBucket) *float64 { return b.QuoteLatencyP99MS })},
				{"odds staleness p99", colorOrange, opt(func(b TimelineBucket) *float64 { return b.OddsStalenessP99MS })},
			}})
	}
	labels := make([]string, n)
	for i, b := range tl.Buckets {
		labels[i] = clockLabel(b.AtS)
	}
	var out []htmlChart
	for _, s := range specs {
		svg, err := lineChartSVG(s.unit, labels, s.series, win, tl.BucketS)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", s.id, err)
		}
		out = append(out, htmlChart{ID: s.id, Title: s.title, Caption: s.caption, SVG: template.HTML(svg)})
	}
	return out, nil
}

// shadedWindow is a span of replay time to shade, in seconds.
type shadedWindow struct {
	from, to float64
	fill     string
	label    string
}

// windowsOf lays out r's fault and recovery windows as the SLO phases do
// (newPhaser); a fault that never healed is shaded to the end of the run.
func windowsOf(r *Report) []shadedWindow {
	end := r.Run.WallS
	if tl := r.Timeline; tl != nil {
		end = max(end, float64(len(tl.Buckets))*tl.BucketS)
	}
	var out []shadedWindow
	for _, f := range r.Faults {
		if !f.Injected {
			continue
		}
		to := end
		if f.Healed {
			to = f.HealedAtS
		}
		label := fmt.Sprintf("fault %s (%s %s): %s to %s", f.Name, f.Target, f.Kind, clockLabel(f.InjectedAtS), clockLabel(to))
		out = append(out, shadedWindow{f.InjectedAtS, to, shadeFault, label})
	}
	for _, s := range newPhaser(r.Faults).recovery {
		from, to := float64(s.from)/1e6, min(float64(s.to)/1e6, end)
		out = append(out, shadedWindow{from, to, shadeRecovery, "recovery: " + clockLabel(from) + " to " + clockLabel(to)})
	}
	return out
}

// clockLabel writes seconds of the replay as m:ss, or h:mm:ss.
func clockLabel(s float64) string {
	t := int64(math.Round(s))
	if t >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", t/3600, t%3600/60, t%60)
	}
	return fmt.Sprintf("%d:%02d", t/60, t%60)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so the y axis
// ends on a round figure.
func niceCeil(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// lineChartSVG draws series over labels on a y axis from 0 to a round
// maximum, then shades the windows behind the lines.
func lineChartSVG(unit string, labels []string, series []chartSeries, windows []shadedWindow, bucketS float64) (string, error) {
	n := len(labels)
	top := 0.0
	for _, s := range series {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				top = max(top, v)
			}
		}
	}
	top = niceCeil(top * 1.05)
	low, high := make([]float64, n), make([]float64, n)
	var values [][]float64
	var names []string
	var colors []charts.Color
	for _, s := range series {
		vs := make([]float64, n)
		for i, v := range s.values {
			if math.IsNaN(v) {
				v = charts.GetNullValue()
			}
			vs[i] = v
		}
		values = append(values, vs)
		names = append(names, s.name)
		colors = append(colors, s.color)
	}
	for i := range high {
		high[i] = top
	}
	values = append(values, low, high)
	colors = append(colors, probeLow, probeHigh)

	o := charts.NewLineChartOptionWithData(values)
	o.Theme = charts.GetTheme(charts.ThemeLight).WithSeriesColors(colors)
	o.Padding = charts.Box{Top: 10, Right: 20, Bottom: 10, Left: 10}
	o.Legend.SeriesNames = names
	o.Legend.Padding = charts.Box{Left: 60}
	o.XAxis.Labels = labels
	o.XAxis.BoundaryGap = charts.Ptr(false)
	// 1, 2 or 5 × 10^k in five steps: every label a round figure.
	o.YAxis = []charts.YAxisOption{{Min: charts.Ptr(0.0), Max: charts.Ptr(top), Title: unit, LabelCount: 6, PreferNiceIntervals: charts.Ptr(false)}}
	o.Symbol = charts.Symbol{Shape: charts.SymbolNone}
	o.LineStrokeWidth = 1.5
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: chartWidth, Height: chartHeight})
	if err := p.LineChart(o); err != nil {
		return "", err
	}
	b, err := p.Bytes()
	if err != nil {
		return "", err
	}
	return shade(string(b), windows, bucketS, n)
}

var (
	svgPath   = regexp.MustCompile(`<path d="([^"]*)" style="([^"]*)"/>`)
	svgNumber = regexp.MustCompile(`-?[0-9]+(?:\.[0-9]+)?`)
)

// probeStroke is how the SVG writer spells a probe's stroke.
func probeStroke(c charts.Color) string {
	return fmt.Sprintf("stroke:rgb(%d,%d,%d)", c.R, c.G, c.B)
}

// shade removes the probe paths from svg and draws the windows, as
// rectangles over the plot area, just behind the axes and lines: after
// the background, the first element the library writes. A window starts at
// its time's x between the bucket points and is at least a pixel wide.
func shade(svg string, windows []shadedWindow, bucketS float64, n int) (string, error) {
	var lowPts, highPts []float64
	out := svgPath.ReplaceAllStringFunc(svg, func(el string) string {
		m := svgPath.FindStringSubmatch(el)
		switch {
		case strings.Contains(m[2], probeStroke(probeLow)):
			lowPts = points(m[1])
		case strings.Contains(m[2], probeStroke(probeHigh)):
			highPts = points(m[1])
		default:
			return el
		}
		return ""
	})
	if len(lowPts) < 2 || len(highPts) < 2 {
		return "", fmt.Errorf("the chart library drew no probe lines: cannot place the fault windows")
	}
	x0, x1 := lowPts[0], lowPts[len(lowPts)-2]
	yBottom, yTop := lowPts[1], highPts[1]
	xOf := func(s float64) float64 {
		if n < 2 {
			return x0
		}
		return min(max(x0+s/bucketS*(x1-x0)/float64(n-1), x0), x1)
	}
	var rects strings.Builder
	for _, w := range windows {
		from, to := xOf(w.from), xOf(w.to)
		if n < 2 {
			to = x1
		}
		width := max(to-from, 1)
		fmt.Fprintf(&rects, `<rect class="window" x="%.1f" y="%.1f" width="%.1f" height="%.1f" style="fill:%s;stroke:none"><title>%s</title></rect>`,
			from, yTop, width, yBottom-yTop, w.fill, template.HTMLEscapeString(w.label))
	}
	i := strings.Index(out, "/>")
	if i < 0 {
		return "", fmt.Errorf("the chart has no background to draw the windows over")
	}
	return out[:i+2] + rects.String() + out[i+2:], nil
}

// points are the numbers of a path's d attribute: x, y, x, y, ...
func points(d string) []float64 {
	var out []float64
	for _, s := range svgNumber.FindAllString(d, -1) {
		v, _ := strconv.ParseFloat(s, 64)
		out = append(out, v)
	}
	return out
}
