package chaos

import "fmt"

func init() {
	RegisterKind("skew", func(p *Params) Kind {
		k := &Skew{newFeedFault("skew", "skewed")}
		k.readEvery(p, 1)
		k.fault.Skew = p.SignedDurationOr("skew", 0)
		if k.fault.Skew == 0 {
			p.problem("param skew is missing or 0 (a duration such as \"2s\" or \"-500ms\")")
		}
		return k
	})
}

// Skew shifts the vendor timestamps of one message in every (param every,
// default 1) by skew (param skew, required, a duration; negative is behind).
// It landed when a message was skewed.
type Skew struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Skew) sampleParams(r *rng) map[string]any {
	shift := 250 * r.between(1, 8)
	if r.between(0, 1) == 0 {
		shift = -shift
	}
	return map[string]any{"skew": fmt.Sprintf("%dms", shift)}
}
