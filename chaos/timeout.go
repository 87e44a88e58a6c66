package chaos

import (
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("timeout", func() Kind { return &Timeout{toxic: toxic{typ: "timeout"}} })
}

// Timeout stops all data on the link and closes each connection after
// Timeout; a Timeout of 0 holds the data until the fault heals (toxiproxy's
// timeout toxic).
type Timeout struct {
	Timeout time.Duration // param timeout, optional (default 0), whole milliseconds
	toxic
}

// Configure reads timeout, stream and toxicity.
func (k *Timeout) Configure(p *Params) {
	k.Timeout = p.DurationOr("timeout", 0, time.Millisecond)
	k.configure(p)
	k.attrs = toxiclient.Attributes{"timeout": ms(k.Timeout)}
}

// Judge: the probe must fail (closed after the timeout) or stall.
func (k *Timeout) Judge(before, during ProbeResult) (Effect, string) {
	return failedOrStalled(before, during, true)
}

// String describes the fault, e.g. "timeout 0s (hold until healed), downstream, toxicity 1".
func (k *Timeout) String() string {
	if k.Timeout == 0 {
		return fmt.Sprintf("timeout 0s (hold until healed), %s", k.common())
	}
	return fmt.Sprintf("timeout %s, %s", k.Timeout, k.common())
}
