package chaos

import (
	"context"
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

func init() {
	RegisterKind("limit_data", func(p *Params) Kind {
		k := &LimitData{toxic: toxic{typ: "limit_data"}}
		k.configure(p)
		return k
	})
}

// LimitData closes each connection once Bytes bytes have passed (toxiproxy's
// limit_data toxic).
type LimitData struct {
	Bytes int64 // param bytes, required, at least 0 (0: close at the first data)
	toxic
}

// configure reads bytes, stream and toxicity.
func (k *LimitData) configure(p *Params) {
	k.Bytes = p.Int("bytes", 0, 1<<50)
	k.toxic.configure(p)
	k.attrs = toxiclient.Attributes{"bytes": k.Bytes}
}

// Inject puts the toxic on the target's link (see injectLink).
func (k *LimitData) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	return onLink(ctx, env, f, k)
}

// sampleParams draws a limit of 64 bytes to 64 KiB for a random plan.
func (k *LimitData) sampleParams(r *rng) map[string]any {
	return map[string]any{"bytes": int64(64) << r.between(0, 10), "stream": r.pick("downstream", "upstream")}
}

// String describes the fault, e.g. "limit_data 1024 bytes, downstream, toxicity 1".
func (k *LimitData) String() string {
	return fmt.Sprintf("limit_data %d bytes, %s", k.Bytes, k.common())
}
