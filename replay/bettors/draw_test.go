package bettors

import (
	"math"
	"testing"
)

// TestDetMath: the deterministic exp and log agree with the math
// package's to within a few units in the last place.
func TestDetMath(t *testing.T) {
	d := newDraws(1, 2)
	for range 100_000 {
		x := d.uniform(-50, 50)
		if got, want := expDet(x), math.Exp(x); math.Abs(got-want) > 1e-14*want {
			t.Fatalf("expDet(%v) = %v, math.Exp = %v", x, got, want)
		}
		y := math.Abs(x)*1e3 + 1e-300
		if got, want := logDet(y), math.Log(y); math.Abs(got-want) > 1e-14*math.Max(1, math.Abs(want)) {
			t.Fatalf("logDet(%v) = %v, math.Log = %v", y, got, want)
		}
	}
	for _, x := range []float64{1, 0.5, 2, 1e-300, math.MaxFloat64} {
		if got, want := logDet(x), math.Log(x); math.Abs(got-want) > 1e-13*math.Max(1, math.Abs(want)) {
			t.Errorf("logDet(%v) = %v, want %v", x, got, want)
		}
	}
	if expDet(800) != math.Inf(1) || expDet(-800) != 0 || logDet(0) != math.Inf(-1) {
		t.Error("out-of-range values")
	}
}

// TestDraws: the distributions have the shape they are named for.
func TestDraws(t *testing.T) {
	d := newDraws(3, 4)
	const n = 200_000
	var sumExp, sumNorm, sumNorm2 float64
	below := 0
	for range n {
		sumExp += d.exp()
		z := d.normal()
		sumNorm += z
		sumNorm2 += z * z
		if d.logNormal(610, 0.8) < 610 {
			below++
		}
	}
	if m := sumExp / n; math.Abs(m-1) > 0.01 {
		t.Errorf("exp mean %v", m)
	}
	if m, v := sumNorm/n, sumNorm2/n; math.Abs(m) > 0.01 || math.Abs(v-1) > 0.02 {
		t.Errorf("normal mean %v variance %v", m, v)
	}
	if f := float64(below) / n; math.Abs(f-0.5) > 0.01 {
		t.Errorf("log-normal: %v below the median", f)
	}
	w := []float64{1, 2, 7}
	a := newAliasTable(w)
	var got [3]int
	for range n {
		got[a.draw(d)]++
	}
	for i, x := range w {
		if f := float64(got[i]) / n; math.Abs(f-x/10) > 0.01 {
			t.Errorf("alias: %d drawn %v of the time, want %v", i, f, x/10)
		}
	}
}
