package chaos

// rng is the random source of random plans: splitmix64, written out here so
// that a seed expands to the same plan on every Go version and machine (a
// scenario's seed is a contract).
type rng struct{ state uint64 }

// newRNG seeds a source.
func newRNG(seed int64) *rng { return &rng{state: uint64(seed)} }

// next returns the next 64 random bits.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// between returns a number in [lo, hi], lo <= hi.
func (r *rng) between(lo, hi int64) int64 {
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return int64(r.next())
	}
	// Rejection sampling keeps every value equally likely.
	limit := ^uint64(0) - ^uint64(0)%span
	for {
		if v := r.next(); v < limit {
			return lo + int64(v%span)
		}
	}
}

// pick returns one of choices.
func (r *rng) pick(choices ...string) string {
	return choices[r.between(0, int64(len(choices)-1))]
}
