package chaos

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("latency", func(p *Params) Kind {
		k := &Latency{toxic: toxic{typ: "latency"}}
		k.configure(p)
		return k
	})
}

// Latency delays every chunk of data on the link by Latency, give or take
// Jitter (toxiproxy's latency toxic).
type Latency struct {
	Latency time.Duration // param latency, required, whole milliseconds ("200ms" or toxiproxy's 200)
	Jitter  time.Duration // param jitter, optional, whole milliseconds
	toxic
}

// configure reads latency, jitter, stream and toxicity.
func (k *Latency) configure(p *Params) {
	k.Latency = p.Toxic("latency", time.Millisecond)
	k.Jitter = p.ToxicOr("jitter", 0, time.Millisecond)
	k.toxic.configure(p)
	k.attrs = toxiclient.Attributes{"latency": ms(k.Latency), "jitter": ms(k.Jitter)}
}

// judge: the answer during the fault must come at least half the configured
// latency later than the baseline's. Half, not all, because jitter draws
// below the mean and the baseline itself varies.
func (k *Latency) judge(before, during ProbeResult) (Effect, string) {
	if !during.RoundTrip {
		return EffectUnobservable, fmt.Sprintf("the %s probe measures no round trip, so latency cannot show; the API read-back and the link's traffic decide", during.Probe)
	}
	base := before.RTT
	note := ""
	if !before.OK() {
		base, note = 0, " (baseline failed, compared with 0)"
	}
	if !during.OK() && !during.Stalled {
		return EffectNotShown, "the probe failed during the fault instead of answering late"
	}
	added := during.RTT - base // a stall counts as an answer at the timeout
	need := k.Latency / 2
	if added >= need {
		return EffectShown, fmt.Sprintf("+%s ≥ %s (50%% of %s)%s", round(added), round(need), k.Latency, note)
	}
	return EffectNotShown, fmt.Sprintf("+%s < %s (50%% of %s)%s", round(added), round(need), k.Latency, note)
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *Latency) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// attempts: with toxicity below 1, or a jitter wide enough to draw under
// half the latency, one connection can miss the effect.
func (k *Latency) attempts() int {
	if k.toxicity < 1 || 2*k.Jitter > k.Latency {
		return 5
	}
	return 1
}

// baselineProbes: the added delay is measured from the fastest of three
// baseline probes (see baseline).
func (k *Latency) baselineProbes() int { return 3 }

// addedDelay lets the probes wait out the latency before calling it a stall.
func (k *Latency) addedDelay() time.Duration {
	return k.Latency + k.Jitter
}

// String describes the fault, e.g. "latency 200ms±20ms, downstream, toxicity 1".
func (k *Latency) String() string {
	if k.Jitter == 0 {
		return fmt.Sprintf("latency %s, %s", k.Latency, k.common())
	}
	return fmt.Sprintf("latency %s±%s, %s", k.Latency, k.Jitter, k.common())
}

// sampleParams draws a latency of 50 to 500ms for a random plan.
func (k *Latency) sampleParams(r *rng) map[string]any {
	return map[string]any{"latency": fmt.Sprintf("%dms", 10*r.between(5, 50)), "stream": r.pick("downstream", "upstream")}
}
