package chaos

func init() {
	RegisterKind("malformed", func(p *Params) Kind {
		k := &Malformed{newFeedFault("malformed", "malformed")}
		k.readEvery(p, 10)
		return k
	})
}

// Malformed sends one message in every (param every, default 10) with a
// body that does not parse. It landed when a message was malformed.
type Malformed struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Malformed) sampleParams(r *rng) map[string]any {
	return map[string]any{"every": r.between(2, 20)}
}
