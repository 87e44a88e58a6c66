package chaos

func init() {
	RegisterKind("gap", func(p *Params) Kind {
		k := &Gap{newFeedFault("gap", "skipped")}
		k.readEvery(p, 10)
		return k
	})
}

// Gap skips one seq in every (param every, default 10): the message is
// never sent on the stream, so the client sees a gap and must recover from
// the snapshot. It landed when a seq was skipped.
type Gap struct{ feedFault }

// sampleParams draws the params for a random plan.
func (k *Gap) sampleParams(r *rng) map[string]any {
	return map[string]any{"every": r.between(5, 50)}
}
