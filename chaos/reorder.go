package chaos

import (
	"fmt"
	"time"
)

func init() {
	RegisterKind("reorder", func(p *Params) Kind {
		k := &Reorder{newFeedFault("reorder", "reordered")}
		k.fault.Window = positiveDuration(p, "window", 500*time.Millisecond)
		return k
	})
}

// Reorder shuffles the messages within a window (param window, a duration,
// default 500ms). It landed when a message was reordered.
type Reorder struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Reorder) sampleParams(r *rng) map[string]any {
	return map[string]any{"window": fmt.Sprintf("%dms", 100*r.between(1, 10))}
}
