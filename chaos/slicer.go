package chaos

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("slicer", func(p *Params) Kind {
		k := &Slicer{toxic: toxic{typ: "slicer"}}
		k.configure(p)
		return k
	})
}

// Slicer cuts data into pieces of about AverageSize bytes, give or take
// SizeVariation, with Delay between them (toxiproxy's slicer toxic).
type Slicer struct {
	AverageSize   int64         // param average_size, required, bytes, at least 1
	SizeVariation int64         // param size_variation, optional, bytes, below average_size
	Delay         time.Duration // param delay, optional, whole microseconds ("10us" or toxiproxy's 10)
	toxic
}

// configure reads average_size, size_variation, delay, stream and toxicity.
func (k *Slicer) configure(p *Params) {
	// toxiproxy holds the sizes and the delay in a Go int.
	k.AverageSize = p.Int("average_size", 1, 1<<30)
	k.SizeVariation = p.IntOr("size_variation", 0, 0, 1<<30)
	k.Delay = p.ToxicOr("delay", 0, time.Microsecond)
	k.toxic.configure(p)
	// toxiproxy splits around the midpoint by up to size_variation; at or
	// above average_size a split can fall outside the chunk and panic the
	// proxy's goroutine.
	if k.AverageSize > 0 && k.SizeVariation >= k.AverageSize {
		p.problem("param size_variation (%d) must be below average_size (%d)", k.SizeVariation, k.AverageSize)
	}
	k.attrs = toxiclient.Attributes{
		"average_size":   k.AverageSize,
		"size_variation": k.SizeVariation,
		"delay":          int64(k.Delay / time.Microsecond), // slicer takes microseconds
	}
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *Slicer) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// sampleParams draws pieces of 2 to 256 bytes for a random plan.
func (k *Slicer) sampleParams(r *rng) map[string]any {
	avg := int64(2) << r.between(0, 7)
	return map[string]any{"average_size": avg, "size_variation": avg / 2, "delay": r.between(0, 100), "stream": r.pick("downstream", "upstream")}
}

// String describes the fault, e.g. "slicer 64±8 bytes every 10µs, downstream, toxicity 1".
func (k *Slicer) String() string {
	return fmt.Sprintf("slicer %d±%d bytes every %s, %s", k.AverageSize, k.SizeVariation, k.Delay, k.common())
}
