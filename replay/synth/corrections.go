package synth

import (
	"math/rand/v2"

	"github.com/inplaylabs/inplay/replay"
)

// correctionsStream seeds the corrections' own draws (ASCII "correct"),
// apart from the match's, so that turning corrections on changes nothing
// else in the feed.
const correctionsStream = 0x636f7272656374

// Rule-4-style void factors (parts of the stake refunded), as a bookmaker's
// deduction table steps them.
var voidFactors = [...]string{"0.1", "0.15", "0.2", "0.25", "0.3"}

// correctedResult ends market id with a corrected settlement instead of a
// single result: the result (the winner, no factors) at closeAt + dur/80,
// its rollback at closeAt + dur/40, and the resettlement at closeAt +
// 3·dur/80, all before the capture ends. Match n's resettlement is, by n:
//
//	n ≡ 1 (mod 3): a dead heat of the winner and the runner-up at 0.5 each,
//	               and a void factor
//	n ≡ 2 (mod 3): the dead heat alone
//	n ≡ 0 (mod 3): the void factor alone
//
// so one match exercises both and every three matches each shape. The
// runner-up is the other selection with the highest probability at the
// close (p), the first in home, draw, away order on a tie; the void factor
// is drawn from voidFactors.
func correctedResult(rng *rand.Rand, n int, id, winner string, p [3]int64, closeAt, dur int64, producer string) []replay.Event {
	first := replay.Event{T: closeAt + dur/80, Kind: replay.KindResult, Market: id, Winners: []string{winner}, Producer: producer}
	rollback := replay.Event{T: closeAt + dur/40, Kind: replay.KindRollback, Market: id, Producer: producer}
	again := replay.Event{T: closeAt + 3*dur/80, Kind: replay.KindResult, Market: id, Winners: []string{winner}, Producer: producer}
	if n%3 != 0 {
		runnerUp := -1
		for i, sel := range selections {
			if sel != winner && (runnerUp < 0 || p[i] > p[runnerUp]) {
				runnerUp = i
			}
		}
		again.Winners = []string{winner, selections[runnerUp]}
		again.DeadHeat = map[string]string{winner: "0.5", selections[runnerUp]: "0.5"}
	}
	if n%3 != 2 {
		again.VoidFactor = voidFactors[rng.IntN(len(voidFactors))]
	}
	return []replay.Event{first, rollback, again}
}

// correctionsName marks a capture generated with corrections in its name.
func correctionsName(name string, on bool) string {
	if !on {
		return name
	}
	return name + "-corrections"
}
