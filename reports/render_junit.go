package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// junitRenderer writes junit.xml, so that a CI system shows every SLO,
// invariant and fault as a test case.
type junitRenderer struct{}

func init() { Register("junit", junitRenderer{}) }

// File is junit.xml.
func (junitRenderer) File() string { return "junit.xml" }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// add appends a case and keeps the suite's counts.
func (s *junitSuite) add(c junitCase) {
	c.Classname = s.Name
	s.Cases = append(s.Cases, c)
	s.Tests++
	if c.Failure != nil {
		s.Failures++
	}
	if c.Skipped != nil {
		s.Skipped++
	}
}

// Render writes suites "slos", "invariants" and "faults", one case each,
// and a suite "run" whose single case fails when the run has problems
// (an invalid measurement must not look green in CI).
func (junitRenderer) Render(w io.Writer, r *Report) error {
	slos := junitSuite{Name: "slos"}
	for _, s := range r.SLOs {
		c := junitCase{Name: fmt.Sprintf("%s %s %s", s.Metric, s.Phase, s.Objective)}
		switch {
		case !s.Pass:
			c.Failure = &junitFailure{Type: "slo", Message: fmt.Sprintf("observed %s, objective %s (phase %s, %d samples)%s",
				observedText(s), s.Objective, s.Phase, s.Samples, budgetClause(s)), Body: s.Note}
		case s.Observed == nil:
			c.Skipped = &junitSkipped{Message: s.Note}
		default:
			c.SystemOut = fmt.Sprintf("observed %s over %d samples%s", observedText(s), s.Samples, budgetClause(s))
		}
		slos.add(c)
	}

	invs := junitSuite{Name: "invariants"}
	for _, inv := range r.Invariants {
		c := junitCase{Name: inv.Name, SystemOut: inv.Note}
		if inv.Status == StatusNotChecked {
			c.Skipped, c.SystemOut = &junitSkipped{Message: "not checked: " + inv.Note}, ""
		} else if inv.Failed() {
			var body strings.Builder
			for _, w := range inv.Witnesses {
				fmt.Fprintf(&body, "[%s] %s\n", strings.Join(w.IDs, " "), w.Why)
			}
			if extra := inv.Violations - len(inv.Witnesses); extra > 0 {
				fmt.Fprintf(&body, "and %d more violations\n", extra)
			}
			c.Failure = &junitFailure{Type: "invariant",
				Message: fmt.Sprintf("%d violations out of %d checked", inv.Violations, inv.Checked), Body: body.String()}
		} else if c.SystemOut == "" {
			c.SystemOut = fmt.Sprintf("0 violations out of %d checked", inv.Checked)
		}
		invs.add(c)
	}

	faults := junitSuite{Name: "faults"}
	for _, f := range r.Faults {
		c := junitCase{Name: fmt.Sprintf("%s (%s %s)", f.Name, f.Target, f.Kind), SystemOut: f.Evidence}
		switch {
		case !f.Injected:
			c.Failure = &junitFailure{Type: "fault", Message: "the fault was never injected", Body: f.Evidence}
		case !f.Landed:
			c.Failure = &junitFailure{Type: "fault", Message: "the fault did not land: " + faultWindow(f), Body: f.Evidence}
		}
		faults.add(c)
	}

	run := junitSuite{Name: "run"}
	rc := junitCase{Name: "verdict " + r.Verdict + " (exit " + strconv.Itoa(r.ExitCode) + ")"}
	if len(r.Problems) > 0 {
		rc.Failure = &junitFailure{Type: "run", Message: r.Problems[0], Body: strings.Join(r.Problems, "\n")}
	}
	run.add(rc)

	doc := junitSuites{Name: "inplay " + r.Scenario.Name, Suites: []junitSuite{slos, invs, faults, run}}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// observedText renders an SLO's observed value with its unit, to at most
// four decimals (the JSON report keeps the full value).
func observedText(s SLOResult) string {
	if s.Observed == nil {
		return "nothing"
	}
	return strconv.FormatFloat(math.Round(*s.Observed*1e4)/1e4, 'f', -1, 64) + s.Unit
}

// budgetText renders an error budget: "0.4% of 1% (burn 0.4)"; an
// overspent zero budget burns "∞".
func budgetText(b Budget) string {
	burn := "∞"
	if b.Burn != nil {
		burn = strconv.FormatFloat(math.Round(*b.Burn*1e4)/1e4, 'f', -1, 64)
	}
	pct := func(f float64) string { return strconv.FormatFloat(math.Round(f*1e4)/1e4, 'f', -1, 64) + "%" }
	return fmt.Sprintf("%s of %s (burn %s)", pct(b.UsedPct), pct(b.AllowedPct), burn)
}

// budgetClause is "; error budget used: …" for an objective that has one.
func budgetClause(s SLOResult) string {
	if s.Budget == nil {
		return ""
	}
	return "; error budget used: " + budgetText(*s.Budget)
}

// faultWindow renders when a fault was active.
func faultWindow(f Fault) string {
	if !f.Injected {
		return "never injected"
	}
	if !f.Healed {
		return fmt.Sprintf("injected at %.3fs, never healed", f.InjectedAtS)
	}
	return fmt.Sprintf("injected at %.3fs, healed at %.3fs", f.InjectedAtS, f.HealedAtS)
}
