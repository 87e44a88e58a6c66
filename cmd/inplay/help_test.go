package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/reports"
)

// TestHelpListsTheMetricTable holds the help to reports' metric table: a
// metric added there shows in inplay --help and validate --help, with its
// statistics and what it measures, without a second list to edit.
func TestHelpListsTheMetricTable(t *testing.T) {
	help := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitPass {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		return stdout.String()
	}
	root, validate := help("--help"), help("validate", "--help")
	for _, m := range reports.Metrics() {
		if !strings.Contains(root, m.Name) {
			t.Errorf("inplay --help lacks the metric %s", m.Name)
		}
		line := m.Name + " (" + strings.Join(m.Stats, ", ")
		if !strings.Contains(validate, line) || !strings.Contains(validate, m.Help) {
			t.Errorf("validate --help lacks %q with its help %q:\n%s", line, m.Help, validate)
		}
	}
	for _, phase := range []string{reports.PhaseSteady, reports.PhaseRecovery, reports.PhaseFaultPrefix + "NAME", reports.PhaseEachFault} {
		if !strings.Contains(validate, "  "+phase+": ") {
			t.Errorf("validate --help lacks the phase %s", phase)
		}
	}
}
