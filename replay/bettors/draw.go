package bettors

import (
	"math"
	"math/rand/v2"
)

// The overlay's random draws. They use float64 addition, subtraction,
// multiplication, division and square root only, each correctly rounded by
// IEEE 754, and never math.Exp or math.Log, whose assembly versions differ
// between CPUs. Go may fuse x*y+z into one instruction on arm64, ppc64 and
// s390x (not on amd64), which rounds once instead of twice; every product
// that feeds a sum is therefore wrapped in float64(...), which the spec says
// rounds it and prevents the fusion. So the same seed gives the same capture
// on every machine, not only on the one that made it.

const ln2 = 0.6931471805599453

// expDet is e^x, deterministic across CPUs (see above); relative error
// below 1e-15 for |x| < 700, and 0 or +Inf beyond.
func expDet(x float64) float64 {
	switch {
	case x > 700:
		return math.Inf(1)
	case x < -700:
		return 0
	}
	// x = k·ln2 + r with |r| <= ln2/2, then e^x = 2^k · e^r.
	k := math.Floor(x/ln2 + 0.5)
	r := x - float64(k*ln2)
	// Taylor series of e^r; 18 terms are exact to double precision here.
	sum, term := 1.0, 1.0
	for n := 1; n <= 18; n++ {
		term = float64(term*r) / float64(n)
		sum += term
	}
	return math.Ldexp(sum, int(k))
}

// logDet is ln x for x > 0, deterministic across CPUs (see above).
func logDet(x float64) float64 {
	if x <= 0 {
		return math.Inf(-1)
	}
	m, e := math.Frexp(x) // x = m·2^e, m in [0.5, 1): exact
	if m < math.Sqrt2/2 {
		m *= 2 // exact
		e--
	}
	// ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + ...), s = (m-1)/(m+1), |s| < 0.172.
	s := (m - 1) / (m + 1)
	s2 := float64(s * s)
	sum, pow := 0.0, s
	for n := 1; n <= 29; n += 2 {
		sum += pow / float64(n)
		pow = float64(pow * s2)
	}
	return float64(float64(e)*ln2) + float64(2*sum)
}

// draws is the overlay's one random source.
type draws struct{ r *rand.Rand }

func newDraws(seed int64, stream uint64) draws {
	return draws{rand.New(rand.NewPCG(uint64(seed), stream))}
}

// unit is uniform in (0, 1): never 0, so its logarithm is finite.
func (d draws) unit() float64 {
	for {
		if u := d.r.Float64(); u > 0 {
			return u
		}
	}
}

// uniform is uniform in [lo, hi).
func (d draws) uniform(lo, hi float64) float64 {
	return lo + float64(d.r.Float64()*(hi-lo))
}

// chance is true with probability p.
func (d draws) chance(p float64) bool { return d.r.Float64() < p }

// exp is exponential with mean 1.
func (d draws) exp() float64 { return -logDet(d.unit()) }

// normal is standard normal (Marsaglia's polar method).
func (d draws) normal() float64 {
	for {
		u := float64(2*d.r.Float64()) - 1
		v := float64(2*d.r.Float64()) - 1
		s := float64(u*u) + float64(v*v)
		if s > 0 && s < 1 {
			return float64(u * math.Sqrt(float64(-2*logDet(s))/s))
		}
	}
}

// logNormal has median m and log-spread sigma: m·e^(sigma·Z).
func (d draws) logNormal(m, sigma float64) float64 {
	return float64(m * expDet(float64(sigma*d.normal())))
}

// pareto is Pareto with minimum 1 and tail index alpha: U^(-1/alpha).
func (d draws) pareto(alpha float64) float64 {
	return expDet(-logDet(d.unit()) / alpha)
}

// aliasTable draws index i with probability w[i]/Σw in O(1) (Vose's alias
// method), so a million bettors cost one table, not a scan per draw.
type aliasTable struct {
	prob  []float64
	alias []int32
}

func newAliasTable(w []float64) aliasTable {
	n := len(w)
	t := aliasTable{prob: make([]float64, n), alias: make([]int32, n)}
	var total float64
	for _, x := range w {
		total += x
	}
	scaled := make([]float64, n)
	var small, large []int32
	for i, x := range w {
		scaled[i] = float64(x*float64(n)) / total
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		t.prob[s], t.alias[s] = scaled[s], l
		scaled[l] = (scaled[l] + scaled[s]) - 1
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		t.prob[i], t.alias[i] = 1, i // what rounding left over: certain
	}
	return t
}

func (t aliasTable) draw(d draws) int {
	i := d.r.IntN(len(t.prob))
	if d.r.Float64() < t.prob[i] {
		return i
	}
	return int(t.alias[i])
}
