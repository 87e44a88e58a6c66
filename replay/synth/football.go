// Package synth generates seeded, deterministic captures for replays when no
// recorded peak is at hand: the same options always give byte-identical
// captures, so a failing run can be reproduced from its seed alone.
package synth

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// FootballOptions shape a generated in-play football capture.
type FootballOptions struct {
	Seed     int64         // same seed, same options: byte-identical capture
	Matches  int           // markets m1..mN, played at the same time
	Bettors  int           // accounts a1..aN
	Duration time.Duration // capture length, at least MinFootballDuration
}

// MinFootballDuration is the shortest match Football generates: long enough
// for an opening, a goal, a close and a result.
const MinFootballDuration = 30 * time.Second

// The selections of every match-odds market, in their canonical order.
var selections = [3]string{"home", "draw", "away"}

// Validate returns every problem with o, one sentence each.
func (o FootballOptions) Validate() []error {
	var errs []error
	if o.Matches < 1 {
		errs = append(errs, fmt.Errorf("matches is %d; it must be at least 1", o.Matches))
	}
	if o.Bettors < 0 {
		errs = append(errs, fmt.Errorf("bettors is %d; it must not be negative", o.Bettors))
	}
	if o.Duration < MinFootballDuration {
		errs = append(errs, fmt.Errorf("duration is %s; it must be at least %s", o.Duration, MinFootballDuration))
	}
	return errs
}

// Football generates a small in-play football capture. Each match has a
// match-odds market m{n} (home, draw, away) that opens at t=0 and whose odds
// random-walk every 1 to 3 s around a book of about 105%. One to three goals
// each suspend the market for a few seconds and shift the odds. The market
// closes near the end, then is resulted from the score (a draw makes "draw"
// the winner). Each bettor deposits once early (id d-{n}, account a{n}) and
// then places 1 to 3 bets a minute (ids b-{n}-{k}) on open markets at their
// current odds, with stakes that the deposit covers in total. Only integer
// arithmetic shapes the output, so it is the same on every platform.
func Football(opts FootballOptions) (*replay.Capture, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("synth football: %w", errors.Join(errs...))
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x696e706c6179)) // "inplay"
	dur := opts.Duration.Microseconds()
	var g gen
	for n := 1; n <= opts.Matches; n++ {
		g.match(rng, fmt.Sprintf("m%d", n), dur)
	}
	for n := 1; n <= opts.Bettors; n++ {
		g.bettor(rng, n, dur)
	}
	// Feed events before bettor events at the same instant, so a bet that
	// coincides with an odds move is on the new price it was priced at.
	slices.SortStableFunc(g.events, func(a, b replay.Event) int {
		if a.T != b.T {
			return cmp.Compare(a.T, b.T)
		}
		switch af, bf := a.Kind.IsFeed(), b.Kind.IsFeed(); {
		case af && !bf:
			return -1
		case bf && !af:
			return 1
		}
		return 0
	})
	return &replay.Capture{
		Header: replay.Header{
			Capture:    replay.CaptureVersion,
			Name:       fmt.Sprintf("football-%dx%d", opts.Matches, opts.Bettors),
			Source:     "synth",
			Seed:       opts.Seed,
			Currency:   "EUR",
			DurationUS: dur,
		},
		Events: g.events,
	}, nil
}

// gen accumulates the events and remembers each market's timeline, so
// bettors can price their bets from it.
type gen struct {
	events  []replay.Event
	markets []*timeline
}

// timeline is one market's odds and the periods bets are not taken.
type timeline struct {
	id        string
	odds      []priced   // in time order
	suspended [][2]int64 // [from, to) in µs
	closeAt   int64
}

// priced is the book of a market from time t.
type priced struct {
	t      int64
	prices map[string]string
}

// openAt reports whether the market takes bets at t.
func (m *timeline) openAt(t int64) bool {
	if t >= m.closeAt {
		return false
	}
	for _, s := range m.suspended {
		if t >= s[0] && t < s[1] {
			return false
		}
	}
	return true
}

// pricesAt is the book in force at t (the last odds event at or before t).
func (m *timeline) pricesAt(t int64) map[string]string {
	i, _ := slices.BinarySearchFunc(m.odds, t, func(p priced, t int64) int {
		if p.t <= t {
			return -1
		}
		return 1
	})
	return m.odds[i-1].prices // the opening book is at t=0, so i >= 1
}

// Book shape: weights are fixed-point probabilities (they only need to be
// relative), and the book is priced at overround/100.
const (
	overround = 105
	minWeight = 2_000
	maxWeight = 2_000_000
)

// match generates one market's feed: open, odds moves, goals, close, result.
func (g *gen) match(rng *rand.Rand, id string, dur int64) {
	m := &timeline{id: id, closeAt: dur - dur/20}
	g.markets = append(g.markets, m)
	// Home is a little more likely to score, as in real football.
	w := [3]int64{400_000 + rng.Int64N(200_000), 250_000 + rng.Int64N(50_000), 250_000 + rng.Int64N(200_000)}
	goals := g.goalTimes(rng, dur, m.closeAt)
	score := [2]int{}
	odds := func(t int64) {
		p := book(w)
		m.odds = append(m.odds, priced{t: t, prices: p})
		g.events = append(g.events, replay.Event{T: t, Kind: replay.KindOdds, Market: id, Prices: p})
	}
	status := func(t int64, s string) {
		g.events = append(g.events, replay.Event{T: t, Kind: replay.KindStatus, Market: id, Status: s})
	}
	odds(0)
	status(0, replay.StatusOpen)
	t := int64(0)
	for {
		t += 1_000_000 + rng.Int64N(2_000_001) // every 1 to 3 s
		if len(goals) > 0 && t >= goals[0] {
			// A goal: suspend, then reopen on a shifted book.
			at := goals[0]
			goals = goals[1:]
			pause := min(3_000_000+rng.Int64N(5_000_001), dur/20)
			status(at, replay.StatusSuspended)
			m.suspended = append(m.suspended, [2]int64{at, at + pause})
			team := 0
			if rng.Int64N(w[0]+w[2]) >= w[0] {
				team = 1
			}
			score[team]++
			scorer, other := 2*team, 2-2*team // home=0, away=2
			w[scorer] = clampWeight(w[scorer] * 9 / 5)
			w[other] = clampWeight(w[other] * 3 / 5)
			w[1] = clampWeight(w[1] * 4 / 5)
			t = at + pause
			odds(t)
			status(t, replay.StatusOpen)
			continue
		}
		if t >= m.closeAt {
			break
		}
		for i := range w {
			// A random walk of up to ±4% per move.
			w[i] = clampWeight(w[i] * (1000 + rng.Int64N(81) - 40) / 1000)
		}
		odds(t)
	}
	status(m.closeAt, replay.StatusClosed)
	winner := "draw"
	switch {
	case score[0] > score[1]:
		winner = "home"
	case score[1] > score[0]:
		winner = "away"
	}
	g.events = append(g.events, replay.Event{T: dur - dur/40, Kind: replay.KindResult, Market: id, Winners: []string{winner}})
}

// goalTimes picks 1 to 3 goal times, apart from each other and from the
// opening and the close, in order.
func (g *gen) goalTimes(rng *rand.Rand, dur, closeAt int64) []int64 {
	n := 1 + rng.IntN(3)
	from, to := dur/10, closeAt-dur/10
	slot := (to - from) / int64(n)
	goals := make([]int64, n)
	for i := range goals {
		// One goal per slot, in its first 70%, so a suspension (at most
		// dur/20, a fifth of a slot) ends before the next slot's goal.
		goals[i] = from + int64(i)*slot + slot/10 + rng.Int64N(slot*6/10)
	}
	return goals
}

// clampWeight keeps a weight where its odds stay within 1.01 to 1000.
func clampWeight(w int64) int64 {
	return min(max(w, minWeight), maxWeight)
}

// book prices weights w at an overround of about 105%, to 2 decimals.
func book(w [3]int64) map[string]string {
	total := w[0] + w[1] + w[2]
	p := make(map[string]string, 3)
	for i, sel := range selections {
		// odds = total / (w × 1.05), in hundredths, rounded half up.
		num, den := total*100*100, w[i]*overround
		e2 := (2*num + den) / (2 * den)
		e2 = min(max(e2, 101), 100_000)
		p[sel] = fmt.Sprintf("%d.%02d", e2/100, e2%100)
	}
	return p
}

// bettor generates one bettor's session: one deposit early, then bets.
func (g *gen) bettor(rng *rand.Rand, n int, dur int64) {
	account := fmt.Sprintf("a%d", n)
	depositAt := rng.Int64N(max(dur/20, 1))
	// A mean gap of 20 to 60 s between bets: 1 to 3 bets a minute.
	mean := 20_000_000 + rng.Int64N(40_000_001)
	var bets []replay.Event
	var staked int64
	for t, k := depositAt, 1; ; {
		t += mean/5 + rng.Int64N(mean*8/5+1) // uniform in [0.2, 1.8] × mean
		if t >= dur {
			break
		}
		m := g.openMarket(rng, t)
		if m == nil {
			continue // every market is suspended or closed: the bettor waits
		}
		sel := selections[rng.IntN(len(selections))]
		stake := 200 + rng.Int64N(4801) // 2.00 to 50.00
		staked += stake
		bets = append(bets, replay.Event{
			T: t, Kind: replay.KindBet, Account: account, ID: fmt.Sprintf("b-%d-%d", n, k),
			Market: m.id, Selection: sel, Odds: m.pricesAt(t)[sel], Stake: stake,
		})
		k++
	}
	// The deposit covers every stake with room to spare, so no bet should
	// fail for funds even if all of them lose.
	deposit := (staked*3/2/1000 + 1 + rng.Int64N(20)) * 1000
	g.events = append(g.events, replay.Event{T: depositAt, Kind: replay.KindDeposit, Account: account, ID: fmt.Sprintf("d-%d", n), Amount: deposit})
	g.events = append(g.events, bets...)
}

// openMarket picks a random market that takes bets at t, or nil.
func (g *gen) openMarket(rng *rand.Rand, t int64) *timeline {
	start := rng.IntN(len(g.markets))
	for i := range g.markets {
		if m := g.markets[(start+i)%len(g.markets)]; m.openAt(t) {
			return m
		}
	}
	return nil
}
