package reports

import (
	"encoding/json"
	"io"
)

// jsonRenderer writes report.json, the machine-readable verdict.
type jsonRenderer struct{}

func init() { Register("json", jsonRenderer{}) }

// File is report.json.
func (jsonRenderer) File() string { return "report.json" }

// Render writes r as indented JSON. HTML escaping is off so that
// "p99 <= 250ms" reads as written.
func (jsonRenderer) Render(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(normalized(r))
}
