package replay

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// CaptureStats describes a capture: how much of each kind it holds, how its
// rate is shaped, and what it is about. Stats computes it in one pass.
type CaptureStats struct {
	Header Header `json:"header"`

	Events int64          `json:"events"`  // every event
	ByKind map[Kind]int64 `json:"by_kind"` // events of each kind present
	Feed   int64          `json:"feed"`    // odds, status, result and incident events
	Bettor int64          `json:"bettor"`  // bet, cashout, deposit and withdraw events

	FirstUS int64 `json:"first_us"` // t_us of the first event (0 when there is none)
	LastUS  int64 `json:"last_us"`  // t_us of the last event
	// DurationUS is the capture's length: the header's duration_us, or the
	// last event's t_us when that is later (or the header has none).
	DurationUS int64 `json:"duration_us"`

	// Mean rates over DurationUS, events per second (0 for a capture of
	// zero length).
	MeanPerSecond       float64 `json:"mean_per_s"`
	MeanFeedPerSecond   float64 `json:"mean_feed_per_s"`
	MeanBettorPerSecond float64 `json:"mean_bettor_per_s"`

	// Busiest whole second of capture time, [k s, k+1 s), for each side.
	PeakFeed   Peak `json:"peak_feed"`
	PeakBettor Peak `json:"peak_bettor"`

	Markets   int              `json:"markets"`   // distinct market ids, feed and bets together
	Accounts  int              `json:"accounts"`  // distinct account ids
	Producers map[string]int64 `json:"producers"` // feed events by producer ("" = not named)

	// Bets by the state of their market when placed, from the in_play of the
	// market's latest status event. InPlayKnown is false when no status
	// event carries in_play; then every bet is BetsUnknown.
	InPlayKnown  bool  `json:"in_play_known"`
	BetsInPlay   int64 `json:"bets_in_play"`
	BetsPreMatch int64 `json:"bets_pre_match"`
	BetsUnknown  int64 `json:"bets_unknown"` // on a market with no in_play yet
}

// Peak is the busiest second of one side of a capture.
type Peak struct {
	Events int64 `json:"events"` // events in that second
	Second int64 `json:"second"` // which second: it covers t_us [Second*1e6, (Second+1)*1e6)
}

// InPlayShare is the in-play share of the bets whose market's state was
// known, between 0 and 1; ok is false when no bet's was.
func (s CaptureStats) InPlayShare() (share float64, ok bool) {
	n := s.BetsInPlay + s.BetsPreMatch
	if n == 0 {
		return 0, false
	}
	return float64(s.BetsInPlay) / float64(n), true
}

// Stats reads s to its end and describes it. It holds one counter per
// distinct market, account and producer, never the events, so a capture of
// any size is described in memory that does not grow with its length. An
// error from s (a bad line, with its number) is returned as it is; an event
// whose t_us goes backwards is an error naming its position, since the
// peaks depend on the order.
func Stats(s Stream) (CaptureStats, error) {
	st := CaptureStats{Header: s.Header(), ByKind: map[Kind]int64{}, Producers: map[string]int64{}}
	markets := map[string]struct{}{}
	accounts := map[string]struct{}{}
	inPlay := map[string]bool{} // market -> its latest in_play, for markets that had one
	var feedSec, betSec bucket
	for {
		e, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return CaptureStats{}, err
		}
		if st.Events > 0 && e.T < st.LastUS {
			return CaptureStats{}, fmt.Errorf("event %d: t_us %d goes backwards (an earlier event has %d)", st.Events+1, e.T, st.LastUS)
		}
		if st.Events == 0 {
			st.FirstUS = e.T
		}
		st.Events++
		st.LastUS = e.T
		st.ByKind[e.Kind]++
		if e.Market != "" {
			markets[e.Market] = struct{}{}
		}
		if e.Account != "" {
			accounts[e.Account] = struct{}{}
		}
		if e.Kind.IsFeed() {
			st.Feed++
			st.Producers[e.Producer]++
			feedSec.add(e.T, &st.PeakFeed)
		} else {
			st.Bettor++
			betSec.add(e.T, &st.PeakBettor)
		}
		switch e.Kind {
		case KindStatus:
			if e.InPlay != nil {
				st.InPlayKnown = true
				inPlay[e.Market] = *e.InPlay
			}
		case KindBet:
			ip, known := inPlay[e.Market]
			switch {
			case !known:
				st.BetsUnknown++
			case ip:
				st.BetsInPlay++
			default:
				st.BetsPreMatch++
			}
		}
	}
	st.DurationUS = max(st.Header.DurationUS, st.LastUS)
	if st.DurationUS > 0 {
		secs := float64(st.DurationUS) / 1e6
		st.MeanPerSecond = float64(st.Events) / secs
		st.MeanFeedPerSecond = float64(st.Feed) / secs
		st.MeanBettorPerSecond = float64(st.Bettor) / secs
	}
	st.Markets, st.Accounts = len(markets), len(accounts)
	return st, nil
}

// Kinds returns the kinds present in st, in the package doc's order.
func (s CaptureStats) Kinds() []Kind {
	order := []Kind{KindOdds, KindStatus, KindResult, KindIncident, KindRollback, KindBet, KindCashout, KindDeposit, KindWithdraw}
	var out []Kind
	for _, k := range order {
		if s.ByKind[k] > 0 {
			out = append(out, k)
		}
	}
	// Kinds a newer stream may carry, after the known ones.
	for _, k := range slices.Sorted(maps.Keys(s.ByKind)) {
		if !slices.Contains(order, k) {
			out = append(out, k)
		}
	}
	return out
}

// bucket counts the events of the current second of one side; events come
// in t_us order, so one counter per side is enough.
type bucket struct {
	second int64
	n      int64
}

// add counts an event at t and keeps peak at the busiest second so far
// (the earliest, on a tie).
func (b *bucket) add(t int64, peak *Peak) {
	sec := t / 1_000_000
	if b.n == 0 || sec != b.second {
		b.second, b.n = sec, 0
	}
	b.n++
	if b.n > peak.Events {
		*peak = Peak{Events: b.n, Second: sec}
	}
}
