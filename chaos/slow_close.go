package chaos

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("slow_close", func(p *Params) Kind {
		k := &SlowClose{toxic: toxic{typ: "slow_close"}}
		k.configure(p)
		return k
	})
}

// SlowClose delays the close of a connection by Delay after its other side
// closed (toxiproxy's slow_close toxic).
type SlowClose struct {
	Delay time.Duration // param delay, required, whole milliseconds ("1s" or toxiproxy's 1000)
	toxic
}

// configure reads delay, stream and toxicity.
func (k *SlowClose) configure(p *Params) {
	k.Delay = p.Toxic("delay", time.Millisecond)
	k.toxic.configure(p)
	k.attrs = toxiclient.Attributes{"delay": ms(k.Delay)}
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *SlowClose) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// sampleParams draws a delay of 100ms to 2s for a random plan.
func (k *SlowClose) sampleParams(r *rng) map[string]any {
	return map[string]any{"delay": fmt.Sprintf("%dms", 100*r.between(1, 20)), "stream": r.pick("downstream", "upstream")}
}

// String describes the fault, e.g. "slow_close 1s, downstream, toxicity 1".
func (k *SlowClose) String() string {
	return fmt.Sprintf("slow_close %s, %s", k.Delay, k.common())
}
