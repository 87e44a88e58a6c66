package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// summaryRenderer writes summary.md: the verdict in a page a person reads
// first, in a pull request or a sign-off.
type summaryRenderer struct{}

func init() { Register("summary", summaryRenderer{}) }

// File is summary.md.
func (summaryRenderer) File() string { return "summary.md" }

// summaryWitnesses is how many witnesses per failed invariant the summary
// shows; report.json has them all (up to MaxWitnesses).
const summaryWitnesses = 3

// Render writes a short Markdown summary: verdict, load, SLO, invariant
// and fault tables.
func (summaryRenderer) Render(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# inplay %s: %s (exit %d)\n\n", mdText(r.Scenario.Name), strings.ToUpper(r.Verdict), r.ExitCode)
	fmt.Fprintf(&b, "Run `%s`, seed %d, started %s, %.1f s wall at speed %s, headroom %s",
		r.Run.ID, r.Scenario.Seed, r.Run.StartedAt.UTC().Format(time.RFC3339), r.Run.WallS, num(r.Run.Speed), num(r.Run.Headroom))
	if r.Run.StackSource != "" {
		fmt.Fprintf(&b, ", stack %s", mdText(r.Run.StackSource))
	}
	b.WriteString(".\n\n")
	l := r.Load
	fmt.Fprintf(&b, "**Load:** %d planned, %d sent, %d dropped, %.1f/s, schedule lag p99 %s ms. "+
		"Bets: %d sent, %d accepted, %d rejected, %d unknown.\n",
		l.Planned, l.Sent, l.Dropped, l.RatePerS, num(l.ScheduleLagP99MS), l.Bets.Sent, l.Bets.Accepted, l.Bets.Rejected, l.Bets.Unknown)
	if q := l.Quotes; q.Subscribers > 0 {
		fmt.Fprintf(&b, "**Quotes:** %d subscribers, %d quotes received, %d disconnects.\n", q.Subscribers, q.Received, q.Disconnects)
	}

	if len(r.Problems) > 0 {
		b.WriteString("\n## Problems\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- %s\n", mdText(p))
		}
	}

	b.WriteString("\n## SLOs\n\n")
	if len(r.SLOs) == 0 {
		b.WriteString("No objectives.\n")
	} else {
		b.WriteString("| metric | phase | objective | observed | samples | error budget used | result |\n|---|---|---|---|---:|---|---|\n")
		for _, s := range r.SLOs {
			obs, budget := "—", "—"
			if s.Observed != nil {
				obs = observedText(s)
			}
			if s.Budget != nil {
				budget = budgetText(*s.Budget)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s |\n",
				s.Metric, mdText(s.Phase), mdText(s.Objective), obs, s.Samples, budget, result(s.Pass, s.Note))
		}
	}

	b.WriteString("\n## Invariants\n\n")
	if len(r.Invariants) == 0 {
		b.WriteString("Reconciliation was off.\n")
	} else {
		b.WriteString("| invariant | checked | violations | result | first witnesses |\n|---|---:|---:|---|---|\n")
		for _, inv := range r.Invariants {
			var ws []string
			for i, w := range inv.Witnesses {
				if i == summaryWitnesses {
					break
				}
				ws = append(ws, fmt.Sprintf("`%s`: %s", strings.Join(w.IDs, " "), w.Why))
			}
			if more := inv.Violations - min(len(inv.Witnesses), summaryWitnesses); more > 0 && len(ws) > 0 {
				ws = append(ws, fmt.Sprintf("and %d more", more))
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n",
				inv.Name, inv.Checked, inv.Violations, invariantResult(inv), mdText(strings.Join(ws, "; ")))
		}
	}

	b.WriteString("\n## Faults\n\n")
	if len(r.Faults) == 0 {
		b.WriteString("No faults.\n")
	} else {
		b.WriteString("| fault | target | kind | injected | healed | landed | evidence |\n|---|---|---|---:|---:|---|---|\n")
		for _, f := range r.Faults {
			injected, healed := "**never**", "never"
			if f.Injected {
				injected = fmt.Sprintf("%.3f s", f.InjectedAtS)
			}
			if f.Injected && f.Healed {
				healed = fmt.Sprintf("%.3f s", f.HealedAtS)
			}
			landed := "yes"
			if !f.Injected || !f.Landed {
				landed = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
				mdText(f.Name), mdText(f.Target), mdText(f.Kind), injected, healed, landed, mdText(f.Evidence))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// result renders pass/fail with its note.
func result(pass bool, note string) string {
	s := "pass"
	if !pass {
		s = "**FAIL**"
	}
	if note != "" {
		s += " (" + mdText(note) + ")"
	}
	return s
}

// invariantResult is an invariant's result cell: not checked is neither
// a pass nor a FAIL.
func invariantResult(inv Invariant) string {
	if inv.Status == StatusNotChecked {
		return "not checked (" + mdText(inv.Note) + ")"
	}
	return result(!inv.Failed(), inv.Note)
}

// num renders a float without trailing zeros.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// mdText makes s safe inside a Markdown table cell: pipes would split the
// cell, newlines would end the row, and angle brackets would be taken for
// HTML by most Markdown viewers.
func mdText(s string) string {
	// "<=" cannot open an HTML tag, and the summary is also read on a
	// terminal, so only a "<" that could start a tag is escaped.
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '|':
			b.WriteString(`\|`)
		case c == '<' && i+1 < len(s) && (isLetter(s[i+1]) || s[i+1] == '/' || s[i+1] == '!' || s[i+1] == '?'):
			b.WriteString("&lt;")
		default:
			b.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
