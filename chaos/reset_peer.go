package chaos

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("reset_peer", func(p *Params) Kind {
		k := &ResetPeer{toxic: toxic{typ: "reset_peer"}}
		k.configure(p)
		return k
	})
}

// ResetPeer resets each connection (TCP RST) Timeout after its first data
// (toxiproxy's reset_peer toxic).
type ResetPeer struct {
	Timeout time.Duration // param timeout, optional (default 0: at once), whole milliseconds ("10ms" or toxiproxy's 10)
	toxic
}

// configure reads timeout, stream and toxicity.
func (k *ResetPeer) configure(p *Params) {
	k.Timeout = p.ToxicOr("timeout", 0, time.Millisecond)
	k.toxic.configure(p)
	k.attrs = toxiclient.Attributes{"timeout": ms(k.Timeout)}
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *ResetPeer) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// judge: the probe must fail (reset) or stall (a reset still pending).
func (k *ResetPeer) judge(before, during ProbeResult) (Effect, string) {
	return failedOrStalled(before, during, true)
}

// sampleParams draws a reset at once or within 100ms for a random plan.
func (k *ResetPeer) sampleParams(r *rng) map[string]any {
	return map[string]any{"timeout": fmt.Sprintf("%dms", 10*r.between(0, 10)), "stream": r.pick("downstream", "upstream")}
}

// String describes the fault, e.g. "reset_peer after 0s, downstream, toxicity 1".
func (k *ResetPeer) String() string {
	return fmt.Sprintf("reset_peer after %s, %s", k.Timeout, k.common())
}
