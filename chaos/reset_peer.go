package chaos

import (
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("reset_peer", func() Kind { return &ResetPeer{toxic: toxic{typ: "reset_peer"}} })
}

// ResetPeer resets each connection (TCP RST) Timeout after its first data
// (toxiproxy's reset_peer toxic).
type ResetPeer struct {
	Timeout time.Duration // param timeout, optional (default 0: at once), whole milliseconds
	toxic
}

// Configure reads timeout, stream and toxicity.
func (k *ResetPeer) Configure(p *Params) {
	k.Timeout = p.DurationOr("timeout", 0, time.Millisecond)
	k.configure(p)
	k.attrs = toxiclient.Attributes{"timeout": ms(k.Timeout)}
}

// Judge: the probe must fail (reset) or stall (a reset still pending).
func (k *ResetPeer) Judge(before, during ProbeResult) (Effect, string) {
	return failedOrStalled(before, during, true)
}

// String describes the fault, e.g. "reset_peer after 0s, downstream, toxicity 1".
func (k *ResetPeer) String() string {
	return fmt.Sprintf("reset_peer after %s, %s", k.Timeout, k.common())
}
