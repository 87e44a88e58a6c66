package chaos

func init() {
	RegisterKind("dropout", func(p *Params) Kind {
		k := &Dropout{newFeedFault("dropout", "dropped")}

		return k
	})
}

// Dropout silences the feed: nothing is sent, heartbeats included, while
// the fault is on. It takes no params. It landed when a message was dropped.
type Dropout struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Dropout) sampleParams(r *rng) map[string]any {
	return nil
}
