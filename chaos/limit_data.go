package chaos

import (
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("limit_data", func() Kind { return &LimitData{toxic: toxic{typ: "limit_data"}} })
}

// LimitData closes each connection once Bytes bytes have passed (toxiproxy's
// limit_data toxic).
type LimitData struct {
	Bytes int64 // param bytes, required, at least 0 (0: close at the first data)
	toxic
}

// Configure reads bytes, stream and toxicity.
func (k *LimitData) Configure(p *Params) {
	k.Bytes = p.Int("bytes", 0, 1<<50)
	k.configure(p)
	k.attrs = toxiclient.Attributes{"bytes": k.Bytes}
}

// String describes the fault, e.g. "limit_data 1024 bytes, downstream, toxicity 1".
func (k *LimitData) String() string {
	return fmt.Sprintf("limit_data %d bytes, %s", k.Bytes, k.common())
}
