package chaos

func init() {
	RegisterKind("stale", func(p *Params) Kind {
		k := &Stale{newFeedFault("stale", "resent")}
		k.readEvery(p, 10)
		return k
	})
}

// Stale sends, for one message in every (param every, default 10), an old
// message again. It landed when a message was resent.
type Stale struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Stale) sampleParams(r *rng) map[string]any {
	return map[string]any{"every": r.between(2, 20)}
}
