package reports

import (
	"html/template"
	"io"
	"strings"
)

// htmlRenderer writes report.html: one self-contained page (no scripts, no
// fonts or anything else fetched) to read on a laptop or print and attach
// to a sign-off. The run's timeline is drawn as inline SVG charts with the
// fault windows shaded; then the verdict's tables, with witnesses, and the
// run manifest.
type htmlRenderer struct{}

func init() { Register("html", htmlRenderer{}) }

// File is report.html.
func (htmlRenderer) File() string { return "report.html" }

// htmlView is what the page template reads.
type htmlView struct {
	*Report
	Charts []htmlChart
}

// Render writes r as an HTML page; html/template escapes every value, and
// the charts' SVG is built from numbers and fixed text (html_charts.go).
func (htmlRenderer) Render(w io.Writer, r *Report) error {
	n := normalized(r)
	cs, err := timelineCharts(n)
	if err != nil {
		return err
	}
	return htmlPage.Execute(w, htmlView{Report: n, Charts: cs})
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper":    strings.ToUpper,
	"observed": observedText,
	"budget":   budgetText,
	"ids":      func(ids []string) string { return strings.Join(ids, " ") },
	"sub":      func(a, b float64) float64 { return a - b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>inplay {{.Scenario.Name}}: {{.Verdict}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}
code{font-size:.9em;word-break:break-all}
.pass{color:#176f2c}.fail{color:#b00020;font-weight:bold}.skip{color:#6b6b6b;font-style:italic}
figure{margin:1em 0}figure svg{width:100%;height:auto;display:block}
figcaption{font-size:.88em;color:#444}
.key{display:inline-block;width:1em;height:.8em;vertical-align:middle;margin:0 .2em 0 .8em}
.key.fault{background:rgba(213,94,0,.35)}.key.recovery{background:rgba(230,159,0,.25)}
dl.manifest{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dl.manifest dt{font-weight:600}dl.manifest dd{margin:0}
@media print{
 body{margin:0;max-width:none;font-size:10pt}
 h2{break-after:avoid}
 figure,tr{break-inside:avoid}
 .window{print-color-adjust:exact;-webkit-print-color-adjust:exact}
 .key{print-color-adjust:exact;-webkit-print-color-adjust:exact}
}
</style>
</head>
<body>
<h1>inplay {{.Scenario.Name}}: <span class="{{if eq .Verdict "pass"}}pass{{else}}fail{{end}}">{{upper .Verdict}}</span> (exit {{.ExitCode}})</h1>
<p>Run <code>{{.Run.ID}}</code>, seed {{.Scenario.Seed}}, started {{.Run.StartedAt.Format "2006-01-02T15:04:05Z07:00"}}, {{printf "%.1f" .Run.WallS}} s wall at speed {{.Run.Speed}}, headroom {{.Run.Headroom}}{{with .Run.StackSource}}, stack {{.}}{{end}}. Capture <code>{{.Run.CaptureSHA256}}</code>.</p>
{{with .Load}}<p><strong>Load:</strong> {{.Planned}} planned, {{.Sent}} sent, {{.Dropped}} dropped, {{printf "%.1f" .RatePerS}}/s, schedule lag p99 {{.ScheduleLagP99MS}} ms. Bets: {{.Bets.Sent}} sent, {{.Bets.Accepted}} accepted, {{.Bets.Rejected}} rejected, {{.Bets.Unknown}} unknown.</p>
{{with .Quotes}}{{if .Subscribers}}<p><strong>Quotes:</strong> {{.Subscribers}} subscribers, {{.Received}} quotes received, {{.Disconnects}} disconnects.</p>{{end}}{{end}}{{end}}
{{if .Problems}}<h2>Problems</h2>
<ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul>
{{end}}<h2>The run over time</h2>
{{if .Charts}}<p>Time is the replay clock from its start (m:ss); each point is one bucket of {{.Timeline.BucketS}} s.{{if .Faults}} Shaded:<span class="key fault"></span>fault windows<span class="key recovery"></span>recovery windows (the SLO phases fault and recovery).{{end}}</p>
{{range .Charts}}<figure id="chart-{{.ID}}">
<h3>{{.Title}}</h3>
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}{{else}}<p>No timeline: the run has no journal to draw (a run made by another load tool).</p>
{{end}}<h2>SLOs</h2>
{{if .SLOs}}<table>
<tr><th>metric</th><th>phase</th><th>objective</th><th>observed</th><th>samples</th><th>error budget used</th><th>result</th></tr>
{{range .SLOs}}<tr><td>{{.Metric}}</td><td>{{.Phase}}</td><td>{{.Objective}}</td><td>{{if .Observed}}{{observed .}}{{else}}—{{end}}</td><td>{{.Samples}}</td><td>{{with .Budget}}{{budget .}}{{else}}—{{end}}</td><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}pass{{else}}FAIL{{end}}{{with .Note}} ({{.}}){{end}}</td></tr>
{{end}}</table>
{{else}}<p>No objectives.</p>
{{end}}<h2>Invariants</h2>
{{if .Invariants}}<table>
<tr><th>invariant</th><th>checked</th><th>violations</th><th>result</th><th>witnesses</th></tr>
{{range .Invariants}}<tr><td>{{.Name}}</td><td>{{.Checked}}</td><td>{{.Violations}}</td><td class="{{if .Pass}}pass{{else if eq .Status "not_checked"}}skip{{else}}fail{{end}}">{{if .Pass}}pass{{else if eq .Status "not_checked"}}not checked{{else}}FAIL{{end}}{{with .Note}} ({{.}}){{end}}</td><td>{{range .Witnesses}}<div><code>{{ids .IDs}}</code>: {{.Why}}</div>{{end}}</td></tr>
{{end}}</table>
{{else}}<p>Reconciliation was off.</p>
{{end}}<h2>Faults</h2>
{{if .Faults}}<table>
<tr><th>fault</th><th>target</th><th>kind</th><th>injected (s)</th><th>healed (s)</th><th>landed</th><th>evidence</th></tr>
{{range .Faults}}<tr><td>{{.Name}}</td><td>{{.Target}}</td><td>{{.Kind}}</td>{{if .Injected}}<td>{{printf "%.3f" .InjectedAtS}}</td><td>{{if .Healed}}{{printf "%.3f" .HealedAtS}}{{else}}never{{end}}</td>{{else}}<td class="fail">never</td><td>never</td>{{end}}<td class="{{if and .Injected .Landed}}pass{{else}}fail{{end}}">{{if and .Injected .Landed}}yes{{else}}no{{end}}</td><td>{{.Evidence}}</td></tr>
{{end}}</table>
{{else}}<p>No faults.</p>
{{end}}<h2>Run manifest</h2>
<dl class="manifest">
<dt>scenario</dt><dd>{{.Scenario.Name}}</dd>
<dt>seed</dt><dd>{{.Scenario.Seed}}</dd>
<dt>run id</dt><dd><code>{{.Run.ID}}</code></dd>
<dt>started</dt><dd>{{.Run.StartedAt.Format "2006-01-02T15:04:05Z07:00"}}</dd>
<dt>wall</dt><dd>{{printf "%.3f" .Run.WallS}} s</dd>
<dt>capture sha256</dt><dd><code>{{or .Run.CaptureSHA256 "—"}}</code></dd>
<dt>speed</dt><dd>{{.Run.Speed}}</dd>
<dt>headroom</dt><dd>{{.Run.Headroom}}</dd>
{{with .Run.Shard}}<dt>shard</dt><dd>{{.Index}} of {{.Count}}</dd>
{{end}}{{with .Run.Shards}}<dt>shards merged</dt><dd>{{.}}</dd>
{{end}}<dt>fault plan</dt><dd>{{if .Faults}}{{range $i, $f := .Faults}}{{if $i}}; {{end}}{{$f.Name}}: {{$f.Kind}} on {{$f.Target}}{{if $f.Injected}} at {{printf "%.3f" $f.InjectedAtS}} s{{if $f.Healed}} for {{printf "%.3f" (sub $f.HealedAtS $f.InjectedAtS)}} s{{end}}{{end}}{{end}}{{else}}none{{end}}</dd>
<dt>stack</dt><dd>{{or .Run.StackSource "—"}}</dd>
<dt>inplay</dt><dd>{{with .Run.Build}}{{.Version}}{{with .Revision}}, revision <code>{{.}}</code>{{end}}{{if .Modified}} (modified){{end}}, built with {{.Go}}{{else}}—{{end}}</dd>
<dt>host</dt><dd>{{or .Run.Host "—"}}</dd>
<dt>report schema</dt><dd>{{.Schema}}</dd>
</dl>
</body>
</html>
`))
