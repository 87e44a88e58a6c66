package chaos

func init() {
	RegisterKind("burst", func(p *Params) Kind {
		k := &Burst{newFeedFault("burst", "held")}

		return k
	})
}

// Burst holds every message while the fault is on and sends them at once
// when it ends. It takes no params. It landed when a message was held.
type Burst struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Burst) sampleParams(r *rng) map[string]any {
	return nil
}
