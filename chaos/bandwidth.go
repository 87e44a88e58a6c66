package chaos

import (
	"context"
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("bandwidth", func(p *Params) Kind {
		k := &Bandwidth{toxic: toxic{typ: "bandwidth"}}
		k.configure(p)
		return k
	})
}

// Bandwidth limits the link to Rate kilobytes per second (toxiproxy's
// bandwidth toxic).
type Bandwidth struct {
	Rate int64 // param rate, required, KB/s as toxiproxy takes it, at least 1
	toxic
}

// configure reads rate, stream and toxicity. A rate of 0 is refused:
// toxiproxy reads it as "no limit" and then spins on large chunks.
func (k *Bandwidth) configure(p *Params) {
	k.Rate = p.Int("rate", 1, 1<<40)
	k.toxic.configure(p)
	k.attrs = toxiclient.Attributes{"rate": k.Rate}
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *Bandwidth) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// sampleParams draws a rate of 1 to 100 KB/s for a random plan.
func (k *Bandwidth) sampleParams(r *rng) map[string]any {
	return map[string]any{"rate": r.between(1, 100), "stream": r.pick("downstream", "upstream")}
}

// String describes the fault, e.g. "bandwidth 100KB/s, downstream, toxicity 1".
func (k *Bandwidth) String() string {
	return fmt.Sprintf("bandwidth %dKB/s, %s", k.Rate, k.common())
}
