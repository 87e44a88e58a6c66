package chaos

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("timeout", func(p *Params) Kind {
		k := &Timeout{toxic: toxic{typ: "timeout"}}
		k.configure(p)
		return k
	})
}

// Timeout stops all data on the link and closes each connection after
// Timeout; a Timeout of 0 holds the data until the fault heals (toxiproxy's
// timeout toxic).
type Timeout struct {
	Timeout time.Duration // param timeout, optional (default 0), whole milliseconds ("50ms" or toxiproxy's 50)
	toxic
}

// configure reads timeout, stream and toxicity.
func (k *Timeout) configure(p *Params) {
	k.Timeout = p.ToxicOr("timeout", 0, time.Millisecond)
	k.toxic.configure(p)
	k.attrs = toxiclient.Attributes{"timeout": ms(k.Timeout)}
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *Timeout) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// judge: the probe must fail (closed after the timeout) or stall.
func (k *Timeout) judge(before, during ProbeResult) (Effect, string) {
	return failedOrStalled(before, during, true)
}

// sampleParams draws a hold (0) or a close after up to 1s for a random plan.
func (k *Timeout) sampleParams(r *rng) map[string]any {
	return map[string]any{"timeout": fmt.Sprintf("%dms", 100*r.between(0, 10)), "stream": r.pick("downstream", "upstream")}
}

// String describes the fault, e.g. "timeout 0s (hold until healed), downstream, toxicity 1".
func (k *Timeout) String() string {
	if k.Timeout == 0 {
		return fmt.Sprintf("timeout 0s (hold until healed), %s", k.common())
	}
	return fmt.Sprintf("timeout %s, %s", k.Timeout, k.common())
}
