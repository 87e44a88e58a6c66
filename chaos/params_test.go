package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want time.Duration
		err  string
	}{
		// The scenario's usual spelling.
		{"string", "200ms", 200 * time.Millisecond, ""},
		// Surrounding spaces from hand-written YAML are harmless.
		{"spaces", " 1.5s ", 1500 * time.Millisecond, ""},
		// Programmatic plans may pass a Duration.
		{"duration", 3 * time.Second, 3 * time.Second, ""},
		// A unit is required: 200 of what?
		{"bare int", 200, 0, "bare number 200"},
		{"bare float", 0.5, 0, "bare number 0.5"},
		{"garbage", "soon", 0, `not "soon"`},
		{"bool", true, 0, "the boolean true"},
		{"nil", nil, 0, "an empty value"},
		{"list", []any{"1s"}, 0, "a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("ParseDuration(%v) = %s, %v; want %s", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDuration(%v) error %v; want one containing %q", tt.in, err, tt.err)
			}
		})
	}
}

// FuzzParams feeds arbitrary YAML params to every kind. Configure must never
// panic, and whenever it reports no problem the values it will send to
// toxiproxy must be in range: an accepted fault is one toxiproxy can run.
func FuzzParams(f *testing.F) {
	seeds := []string{
		`{latency: 200ms, jitter: 20ms}`,
		`{rate: 100}`,
		`{delay: 1s}`,
		`{timeout: 0s, stream: upstream, toxicity: 0.5}`,
		`{average_size: 64, size_variation: 8, delay: 10us}`,
		`{bytes: 1024}`,
		`{latency: 200}`,
		`{latency: 200, jitter: 20.0}`,
		`{delay: 10}`,
		`{skew: -2s, every: 3}`,
		`{window: 0s}`,
		`{rate: -1, toxicity: 2}`,
		`{bytes: 1e30}`,
		`{latency: [1, 2]}`,
		`{}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var raw map[string]any
		if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
			return
		}
		for _, name := range Kinds() {
			k, problems, _ := newKind(name, raw)
			if len(problems) > 0 {
				continue
			}
			_ = describeKind(k, name)
			tx, ok := toxicOf(k)
			if !ok {
				continue
			}
			if tx.stream != "downstream" && tx.stream != "upstream" {
				t.Errorf("%s accepted stream %q from %s", name, tx.stream, doc)
			}
			if !(tx.toxicity > 0 && tx.toxicity <= 1) {
				t.Errorf("%s accepted toxicity %g from %s", name, tx.toxicity, doc)
			}
			for attr, v := range tx.attrs {
				if n, ok := v.(int64); !ok || n < 0 {
					t.Errorf("%s accepted %s=%v (%T) from %s", name, attr, v, v, doc)
				}
			}
			if s, ok := k.(*Slicer); ok && (s.AverageSize < 1 || s.SizeVariation >= s.AverageSize) {
				t.Errorf("slicer accepted %d±%d from %s", s.AverageSize, s.SizeVariation, doc)
			}
			if b, ok := k.(*Bandwidth); ok && b.Rate < 1 {
				t.Errorf("bandwidth accepted rate %d from %s", b.Rate, doc)
			}
		}
	})
}

// toxicOf returns the toxic a kind embeds, if it is a toxic kind.
func toxicOf(k Kind) (*toxic, bool) {
	switch k := k.(type) {
	case *Latency:
		return &k.toxic, true
	case *Bandwidth:
		return &k.toxic, true
	case *SlowClose:
		return &k.toxic, true
	case *Timeout:
		return &k.toxic, true
	case *ResetPeer:
		return &k.toxic, true
	case *Slicer:
		return &k.toxic, true
	case *LimitData:
		return &k.toxic, true
	}
	return nil, false
}
