package chaos

import (
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("slow_close", func() Kind { return &SlowClose{toxic: toxic{typ: "slow_close"}} })
}

// SlowClose delays the close of a connection by Delay after its other side
// closed (toxiproxy's slow_close toxic).
type SlowClose struct {
	Delay time.Duration // param delay, required, whole milliseconds
	toxic
}

// Configure reads delay, stream and toxicity.
func (k *SlowClose) Configure(p *Params) {
	k.Delay = p.Duration("delay", time.Millisecond)
	k.configure(p)
	k.attrs = toxiclient.Attributes{"delay": ms(k.Delay)}
}

// String describes the fault, e.g. "slow_close 1s, downstream, toxicity 1".
func (k *SlowClose) String() string {
	return fmt.Sprintf("slow_close %s, %s", k.Delay, k.common())
}
