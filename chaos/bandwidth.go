package chaos

import (
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("bandwidth", func() Kind { return &Bandwidth{toxic: toxic{typ: "bandwidth"}} })
}

// Bandwidth limits the link to Rate kilobytes per second (toxiproxy's
// bandwidth toxic).
type Bandwidth struct {
	Rate int64 // param rate, required, KB/s, at least 1
	toxic
}

// Configure reads rate, stream and toxicity. A rate of 0 is refused:
// toxiproxy reads it as "no limit" and then spins on large chunks.
func (k *Bandwidth) Configure(p *Params) {
	k.Rate = p.Int("rate", 1, 1<<40)
	k.configure(p)
	k.attrs = toxiclient.Attributes{"rate": k.Rate}
}

// String describes the fault, e.g. "bandwidth 100KB/s, downstream, toxicity 1".
func (k *Bandwidth) String() string {
	return fmt.Sprintf("bandwidth %dKB/s, %s", k.Rate, k.common())
}
