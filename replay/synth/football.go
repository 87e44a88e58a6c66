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
	"github.com/inplaylabs/inplay/replay/bettors"
)

// FootballOptions shape a generated football capture.
type FootballOptions struct {
	Seed     int64         // same seed, same options: byte-identical capture
	Matches  int           // markets m1..mN, played at the same time
	Bettors  int           // the population, accounts a1..aN (0: the feed alone)
	Duration time.Duration // capture length, at least MinFootballDuration
	// Corrections ends each match with a corrected settlement: its result,
	// a rollback and a resettlement with a dead heat, a void factor or
	// both (FootballStream). Off, the capture is as it always was.
	Corrections bool
}

// MinFootballDuration is the shortest match Football generates: long enough
// for a pre-match phase, the off, a goal, a close and a result.
const MinFootballDuration = 30 * time.Second

// The bettor model's settings for a generated match (replay/bettors says
// what each means and where its shares come from).
const (
	// FootballRate is the bettors' base rate in play, in bets per bettor
	// per hour. A generated match packs its goals into minutes, so their
	// bursts add about as much again: a capture has 50 to 160 bets per
	// bettor per hour in all, more with more goals and matches, less when
	// longer, as the generator before this model had (each bettor 1 to 3
	// bets a minute), the volume the scenario catalog's objectives were set
	// against.
	FootballRate = 50
	// FootballPreMatch is the pre-match base rate as a fraction of the
	// in-play one. The generated pre-match phase stands for the last hour
	// before kick-off, compressed like the match; that is the busiest
	// stretch of pre-match betting, so it is far above bettors'
	// DefaultPreMatch (assumption).
	FootballPreMatch = 0.25
	// FootballMaxStake caps a generated stake: 500.00.
	FootballMaxStake = 50_000
	// FootballBetDelayMS is the in-play bet delay the feed announces: 5 s,
	// what Betfair's recordings in the workspace show for cricket in play
	// and a common delay for football.
	FootballBetDelayMS = 5000
)

// The selections of every match-odds market, in their canonical order.
var selections = [3]string{"home", "draw", "away"}

// Producers of the generated feed: the pre-match odds service until the
// off, the live one from then on, as a vendor's are.
const (
	producerPreMatch = "prematch"
	producerLive     = "live"
)

// Validate returns every problem with o, one sentence each.
func (o FootballOptions) Validate() []error {
	var errs []error
	if o.Matches < 1 {
		errs = append(errs, fmt.Errorf("matches is %d; it must be at least 1", o.Matches))
	}
	if o.Bettors < 0 || o.Bettors > bettors.MaxBettors {
		errs = append(errs, fmt.Errorf("bettors is %d; it must be between 0 and %d", o.Bettors, bettors.MaxBettors))
	}
	if o.Duration < MinFootballDuration {
		errs = append(errs, fmt.Errorf("duration is %s; it must be at least %s", o.Duration, MinFootballDuration))
	}
	return errs
}

// Football generates a football capture and returns it whole; see
// FootballStream.
func Football(opts FootballOptions) (*replay.Capture, error) {
	s, err := FootballStream(opts)
	if err != nil {
		return nil, err
	}
	return replay.Collect(s)
}

// FootballStream generates a football capture, one event at a time. Each
// match has a match-odds market m{n} (home, draw, away).
//
// The feed: the market opens pre-match at t=0 (in_play false, producer
// "prematch") and reprices every 2 to 5 s, rarely moving. At a fifth of the
// capture it is suspended for the off and reopens in play (in_play true,
// bet_delay_ms FootballBetDelayMS, producer "live"); from then on the book
// is sent every 1 to 3 s and one time in five it moves: some probability
// passes from one selection to another, more often towards the draw while
// the score is level and towards the leader when it is not, as time runs
// out. So most updates repeat the prices, as a vendor's periodic full
// book does, and a given price changes every 15 s or so, not at every
// update. One to three goals each send an incident ("goal"), suspend the
// market for 3 to 8 s and reopen it repriced, the scorer shortened sharply.
// Prices are on Betfair's tick ladder (2.02, 2.04, ..., 3.05, ...) at a
// book of about 105%. The market closes at 95% of the capture and is
// resulted from the score (a draw makes "draw" the winner).
//
// With Corrections, each match's settlement is corrected, as a vendor's
// feed does when a result is reviewed (Sportradar's
// rollback_bet_settlement followed by a new bet_settlement): the result
// comes a little after the close (at 96.25% of the capture), its rollback
// at 97.5% and the resettlement at 98.75%, with a dead heat of the winner
// and the runner-up at 0.5 each, a rule-4-style void factor of 0.1 to 0.3,
// or both (correctedResult says which match gets which). A match-odds
// market has no dead heat or deduction in real football: they stand here
// for the markets that do (a shared top scorer, a deduction for a
// withdrawn runner), so that the platform's corrections run on a market
// with accepted bets. Their draws come from their own seeded stream, so
// the rest of the feed is the one the same seed gives without them.
//
// The bettors: replay/bettors' model overlaid on that feed with the
// population Bettors, FootballRate, FootballPreMatch and FootballMaxStake,
// and no id prefix (accounts a1..aN). The feed's shape uses integer
// arithmetic only, and the bettors' draws are deterministic across CPUs, so
// the capture is the same on every platform.
func FootballStream(opts FootballOptions) (replay.Stream, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("synth football: %w", errors.Join(errs...))
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x696e706c6179)) // "inplay"
	dur := opts.Duration.Microseconds()
	var crng *rand.Rand // nil: no corrections
	if opts.Corrections {
		crng = rand.New(rand.NewPCG(uint64(opts.Seed), correctionsStream))
	}
	var events []replay.Event
	for n := 1; n <= opts.Matches; n++ {
		events = append(events, match(rng, crng, n, fmt.Sprintf("m%d", n), dur)...)
	}
	// Each match's events are in order; merged stably, matches at the same
	// instant keep their own order.
	slices.SortStableFunc(events, func(a, b replay.Event) int { return cmp.Compare(a.T, b.T) })
	feed := &replay.Capture{
		Header: replay.Header{
			Capture:    replay.CaptureVersion,
			Name:       correctionsName(fmt.Sprintf("football-%dx%d", opts.Matches, opts.Bettors), opts.Corrections),
			Source:     "synth",
			Seed:       opts.Seed,
			Currency:   "EUR",
			DurationUS: dur,
		},
		Events: events,
	}
	if opts.Bettors == 0 {
		return feed.Stream(), nil
	}
	return bettors.Overlay(feed.Stream(), bettors.Config{
		Seed: opts.Seed, Bettors: opts.Bettors, Rate: FootballRate, MaxStake: FootballMaxStake,
		PreMatch: FootballPreMatch,
	})
}

// Book shape: probabilities are in millionths and sum to a million; the
// book is priced at overround/100.
const (
	million   = 1_000_000
	overround = 105
	// minProb and maxProb keep every price within 1.01 to 1000.
	minProb = 2_000
	maxProb = 940_000
)

// match generates match n's market id's feed, in time order; crng, when
// not nil, draws its settlement's correction (correctedResult).
func match(rng, crng *rand.Rand, n int, id string, dur int64) []replay.Event {
	var events []replay.Event
	emit := func(e replay.Event) {
		e.Market = id
		events = append(events, e)
	}
	// Home is a little more likely to win, as in real football.
	p := normalize([3]int64{400_000 + rng.Int64N(200_000), 250_000 + rng.Int64N(50_000), 250_000 + rng.Int64N(200_000)})
	producer := producerPreMatch
	odds := func(t int64) {
		emit(replay.Event{T: t, Kind: replay.KindOdds, Prices: book(p), Producer: producer})
	}
	status := func(t int64, s string, inPlay *bool, delay *int64) {
		emit(replay.Event{T: t, Kind: replay.KindStatus, Status: s, InPlay: inPlay, BetDelayMS: delay, Producer: producer})
	}
	pre, live := false, true
	noDelay, delay := int64(0), int64(FootballBetDelayMS)

	off := dur/5 + rng.Int64N(min(2_000_000, dur/50)+1)
	kickoff := off + min(1_000_000+rng.Int64N(2_000_001), dur/25)
	closeAt := dur - dur/20
	goals := goalTimes(rng, kickoff+dur/20, closeAt-dur/10)
	score := [2]int{}

	// Pre-match: a quiet book.
	odds(0)
	status(0, replay.StatusOpen, &pre, &noDelay)
	for t := int64(0); ; {
		t += 2_000_000 + rng.Int64N(3_000_001)
		if t >= off {
			break
		}
		if rng.IntN(10) == 0 {
			p = move(rng, p, -1, 10, 30)
		}
		odds(t)
	}
	// The off: suspended, then in play on the live producer's book.
	producer = producerLive
	status(off, replay.StatusSuspended, nil, nil)
	p = move(rng, p, -1, 10, 30)
	odds(kickoff)
	status(kickoff, replay.StatusOpen, &live, &delay)
	for t := kickoff; ; {
		t += 1_000_000 + rng.Int64N(2_000_001) // every 1 to 3 s
		if len(goals) > 0 && t >= goals[0] {
			// A goal: suspend, then reopen on a book that has taken it in.
			at := goals[0]
			goals = goals[1:]
			pause := min(3_000_000+rng.Int64N(5_000_001), dur/20)
			status(at, replay.StatusSuspended, nil, nil)
			emit(replay.Event{T: at, Kind: replay.KindIncident, Incident: "goal", Producer: producer})
			team := 0
			if rng.Int64N(p[0]+p[2]) >= p[0] {
				team = 1
			}
			score[team]++
			scorer, other := 2*team, 2-2*team // home=0, away=2
			var w [3]int64
			w[scorer], w[other], w[1] = p[scorer]*9/5, p[other]*3/5, p[1]*4/5
			p = normalize(w)
			t = at + pause
			odds(t)
			status(t, replay.StatusOpen, nil, nil)
			continue
		}
		if t >= closeAt {
			break
		}
		if rng.IntN(5) == 0 {
			toward := 1 // level: time runs out for both sides, the draw shortens
			switch {
			case score[0] > score[1]:
				toward = 0
			case score[1] > score[0]:
				toward = 2
			}
			if rng.IntN(5) < 2 {
				toward = -1 // against the run of play: any direction
			}
			p = move(rng, p, toward, 20, 60)
		}
		odds(t)
	}
	status(closeAt, replay.StatusClosed, nil, nil)
	winner := "draw"
	switch {
	case score[0] > score[1]:
		winner = "home"
	case score[1] > score[0]:
		winner = "away"
	}
	if crng != nil {
		return append(events, correctedResult(crng, n, id, winner, p, closeAt, dur, producer)...)
	}
	emit(replay.Event{T: dur - dur/40, Kind: replay.KindResult, Winners: []string{winner}, Producer: producer})
	return events
}

// goalTimes picks 1 to 3 goal times in [from, to), apart from each other,
// in order.
func goalTimes(rng *rand.Rand, from, to int64) []int64 {
	n := 1 + rng.IntN(3)
	slot := (to - from) / int64(n)
	goals := make([]int64, n)
	for i := range goals {
		// One goal per slot, in its first 60%, so a suspension (at most
		// dur/20, under a third of a slot) ends before the next slot's goal.
		goals[i] = from + int64(i)*slot + slot/10 + rng.Int64N(slot*5/10+1)
	}
	return goals
}

// move passes between lo and hi thousandths of one selection's
// probability to another: to toward (0, 1 or 2) from one of the others,
// or between any two when toward is -1.
func move(rng *rand.Rand, p [3]int64, toward, lo, hi int) [3]int64 {
	from, to := rng.IntN(3), toward
	if to < 0 {
		to = rng.IntN(3)
	}
	for from == to {
		from = rng.IntN(3)
	}
	d := p[from] * int64(lo+rng.IntN(hi-lo+1)) / 1000
	d = min(d, p[from]-minProb, maxProb-p[to])
	if d > 0 {
		p[from] -= d
		p[to] += d
	}
	return p
}

// normalize scales weights to probabilities in millionths, each within
// minProb and maxProb, summing to a million.
func normalize(w [3]int64) [3]int64 {
	total := w[0] + w[1] + w[2]
	var p [3]int64
	for i := range w {
		p[i] = min(max(w[i]*million/total, minProb), maxProb)
	}
	// Rounding and clamping leave a little over or under: the largest
	// takes it, and stays within bounds as the others are small.
	big := 0
	for i := range p {
		if p[i] > p[big] {
			big = i
		}
	}
	p[big] += million - (p[0] + p[1] + p[2])
	return p
}

// book prices probabilities p at an overround of about 105%, each price
// rounded to the nearest tick of Betfair's ladder.
func book(p [3]int64) map[string]string {
	out := make(map[string]string, 3)
	for i, sel := range selections {
		// odds = 1 / (p × 1.05), in units of 0.0001, rounded half up.
		num, den := int64(million)*10000*100, p[i]*overround
		e4 := (2*num + den) / (2 * den)
		e4 = ladder(min(max(e4, replay.MinOddsE4), replay.MaxOddsE4))
		out[sel] = fmt.Sprintf("%d.%02d", e4/10000, e4%10000/100)
	}
	return out
}

// ticks is Betfair's price ladder: up to each price (odds × 10000), the
// step between prices.
var ticks = []struct{ upTo, step int64 }{
	{20000, 100}, {30000, 200}, {40000, 500}, {60000, 1000}, {100000, 2000},
	{200000, 5000}, {300000, 10000}, {500000, 20000}, {1000000, 50000}, {10000000, 100000},
}

// ladder rounds e4 to the nearest price on the ladder (half up).
func ladder(e4 int64) int64 {
	from := int64(10000)
	for _, tk := range ticks {
		if e4 <= tk.upTo {
			n := (e4 - from + tk.step/2) / tk.step
			return max(from+n*tk.step, replay.MinOddsE4)
		}
		from = tk.upTo
	}
	return replay.MaxOddsE4
}
