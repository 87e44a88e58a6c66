package reports

import (
	"html/template"
	"io"
	"strings"
)

// htmlRenderer writes report.html: the same content as summary.md as one
// self-contained page (no scripts, no external assets) to attach to a
// sign-off.
type htmlRenderer struct{}

func init() { Register("html", htmlRenderer{}) }

// File is report.html.
func (htmlRenderer) File() string { return "report.html" }

// Render writes r as an HTML page; html/template escapes every value.
func (htmlRenderer) Render(w io.Writer, r *Report) error {
	return htmlPage.Execute(w, normalized(r))
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper":    strings.ToUpper,
	"observed": observedText,
	"ids":      func(ids []string) string { return strings.Join(ids, " ") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>inplay {{.Scenario.Name}}: {{.Verdict}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:72em}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.pass{color:#176f2c}.fail{color:#b00020;font-weight:bold}
</style>
</head>
<body>
<h1>inplay {{.Scenario.Name}}: <span class="{{if eq .Verdict "pass"}}pass{{else}}fail{{end}}">{{upper .Verdict}}</span> (exit {{.ExitCode}})</h1>
<p>Run <code>{{.Run.ID}}</code>, seed {{.Scenario.Seed}}, started {{.Run.StartedAt.Format "2006-01-02T15:04:05Z07:00"}}, {{printf "%.1f" .Run.WallS}} s wall at speed {{.Run.Speed}}, headroom {{.Run.Headroom}}{{with .Run.StackSource}}, stack {{.}}{{end}}. Capture <code>{{.Run.CaptureSHA256}}</code>.</p>
{{with .Load}}<p><strong>Load:</strong> {{.Planned}} planned, {{.Sent}} sent, {{.Dropped}} dropped, {{printf "%.1f" .RatePerS}}/s, schedule lag p99 {{.ScheduleLagP99MS}} ms. Bets: {{.Bets.Sent}} sent, {{.Bets.Accepted}} accepted, {{.Bets.Rejected}} rejected, {{.Bets.Unknown}} unknown.</p>
{{with .Quotes}}{{if .Subscribers}}<p><strong>Quotes:</strong> {{.Subscribers}} subscribers, {{.Received}} quotes received, {{.Disconnects}} disconnects.</p>{{end}}{{end}}{{end}}
{{if .Problems}}<h2>Problems</h2>
<ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul>
{{end}}<h2>SLOs</h2>
{{if .SLOs}}<table>
<tr><th>metric</th><th>phase</th><th>objective</th><th>observed</th><th>samples</th><th>result</th></tr>
{{range .SLOs}}<tr><td>{{.Metric}}</td><td>{{.Phase}}</td><td>{{.Objective}}</td><td>{{if .Observed}}{{observed .}}{{else}}—{{end}}</td><td>{{.Samples}}</td><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}pass{{else}}FAIL{{end}}{{with .Note}} ({{.}}){{end}}</td></tr>
{{end}}</table>
{{else}}<p>No objectives.</p>
{{end}}<h2>Invariants</h2>
{{if .Invariants}}<table>
<tr><th>invariant</th><th>checked</th><th>violations</th><th>result</th><th>witnesses</th></tr>
{{range .Invariants}}<tr><td>{{.Name}}</td><td>{{.Checked}}</td><td>{{.Violations}}</td><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}pass{{else}}FAIL{{end}}{{with .Note}} ({{.}}){{end}}</td><td>{{range .Witnesses}}<div><code>{{ids .IDs}}</code>: {{.Why}}</div>{{end}}</td></tr>
{{end}}</table>
{{else}}<p>Reconciliation was off.</p>
{{end}}<h2>Faults</h2>
{{if .Faults}}<table>
<tr><th>fault</th><th>target</th><th>kind</th><th>injected (s)</th><th>healed (s)</th><th>landed</th><th>evidence</th></tr>
{{range .Faults}}<tr><td>{{.Name}}</td><td>{{.Target}}</td><td>{{.Kind}}</td>{{if .Injected}}<td>{{printf "%.3f" .InjectedAtS}}</td><td>{{if .Healed}}{{printf "%.3f" .HealedAtS}}{{else}}never{{end}}</td>{{else}}<td class="fail">never</td><td>never</td>{{end}}<td class="{{if and .Injected .Landed}}pass{{else}}fail{{end}}">{{if and .Injected .Landed}}yes{{else}}no{{end}}</td><td>{{.Evidence}}</td></tr>
{{end}}</table>
{{else}}<p>No faults.</p>
{{end}}</body>
</html>
`))
