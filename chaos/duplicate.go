package chaos

func init() {
	RegisterKind("duplicate", func(p *Params) Kind {
		k := &Duplicate{newFeedFault("duplicate", "duplicated")}
		k.readEvery(p, 10)
		return k
	})
}

// Duplicate sends one message in every (param every, default 10) twice. It
// landed when a message was duplicated.
type Duplicate struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Duplicate) sampleParams(r *rng) map[string]any {
	return map[string]any{"every": r.between(1, 20)}
}
