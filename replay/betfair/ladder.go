package betfair

import (
	"math"
	"slices"
	"strconv"
)

// maxLadder bounds the entries one ladder holds. Betfair's price ladder has
// 350 prices, so a real ladder never reaches it; it keeps memory per runner
// constant whatever a broken file sends.
const maxLadder = 1024

// Betfair's price ladder runs from 1.01 to 1000, which is also the range of
// capture odds.
const (
	minPrice = 1.01
	maxPrice = 1000
)

// level is one entry of a ladder: a price and the size (GBP) at it, keyed by
// the price itself (atb, atl, trd) or by the level's position, 0 being the
// best (batb, batl, bdatb, bdatl).
type level struct {
	key, price, size float64
}

// ladder is one side of a runner's book, sorted by key.
type ladder []level

// update applies one stream update to l. Each entry is [price,size] or
// [level,price,size]; a size of 0 deletes that price or level, and any
// other size replaces what was there. Entries it leaves out (a price off
// the ladder, a negative size, a full ladder) are reported to note, for the
// import's notes.
func (l *ladder) update(entries [][]float64, leveled bool, note func(string)) {
	for _, e := range entries {
		var key, price, size float64
		if leveled {
			key, price, size = e[0], e[1], e[2]
		} else {
			key, price, size = round4(e[0]), e[0], e[1] // the price, as it is shown
		}
		i, found := slices.BinarySearchFunc(*l, key, func(x level, k float64) int {
			switch {
			case x.key < k:
				return -1
			case x.key > k:
				return 1
			}
			return 0
		})
		if size == 0 {
			if found {
				*l = slices.Delete(*l, i, i+1)
			}
			continue
		}
		switch {
		case size < 0:
			note("ladder entry with a negative size, left out")
			continue
		case !validPrice(price):
			note("ladder price outside 1.01..1000, left out")
			continue
		}
		price = round4(price)
		if found {
			(*l)[i].price, (*l)[i].size = price, size
			continue
		}
		if len(*l) >= maxLadder {
			note("ladder longer than 1024 entries, entry left out")
			continue
		}
		*l = slices.Insert(*l, i, level{key: key, price: price, size: size})
	}
}

// first is the entry with the lowest key: level 0 of a leveled ladder, the
// lowest price of a price-keyed one.
func (l ladder) first() (level, bool) {
	if len(l) == 0 {
		return level{}, false
	}
	return l[0], true
}

// last is the entry with the highest key: the highest price.
func (l ladder) last() (level, bool) {
	if len(l) == 0 {
		return level{}, false
	}
	return l[len(l)-1], true
}

// validPrice reports whether p, rounded to capture odds' four decimals, is
// on Betfair's ladder range.
func validPrice(p float64) bool {
	p = round4(p)
	return p >= minPrice && p <= maxPrice
}

// round4 rounds p to four decimals, the precision of capture odds.
func round4(p float64) float64 {
	return math.Round(p*1e4) / 1e4
}

// formatDecimal writes v, already rounded to four decimals, as a plain
// decimal ("2.5", "1000", "12.34"): the form of capture odds and adjust.
func formatDecimal(v float64) string {
	if v == 0 {
		return "0" // never "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
