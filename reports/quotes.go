package reports

import (
	"cmp"
	"iter"
	"slices"
	"sort"

	"github.com/inplaylabs/inplay/replay"
)

// StalenessStepUS is the interval of odds_staleness samples on the replay
// clock: 100 ms.
const StalenessStepUS = 100_000

// feedUpdate is a feed event the quote stream must reflect: an odds or
// status message the feed server published.
type feedUpdate struct {
	seq        int64
	intendedUS int64
	sentUS     int64 // when the feed server published it
}

// seen is the newest seq a subscriber had of a market at a receipt:
// receipts of one market by one subscriber, in receipt order, with the
// running maximum of their feed_seq (a quote carries every update up to its
// seq, so what a subscriber has seen never goes backwards).
type seen struct {
	atUS   int64
	maxSeq int64
}

// quoteView is the journal's feed updates and the subscribers' receipts,
// indexed by market, for both quote metrics.
type quoteView struct {
	markets  []string       // market ids: the quotes' table, then markets only the journal names
	updates  [][]feedUpdate // by market index, sorted by sent time
	seen     [][][]seen     // by subscriber, then market index
	sessions [][]replay.QuoteSession
	endUS    int64 // the end of observation
}

// newQuoteView indexes q against the journal: O(updates + receipts), plus
// one sort of each market's updates.
func newQuoteView(journal iter.Seq[replay.JournalEntry], q *replay.QuoteObservations) *quoteView {
	v := &quoteView{markets: slices.Clone(q.Markets), endUS: q.EndUS}
	index := make(map[string]int, len(q.Markets))
	for i, m := range q.Markets {
		index[m] = i
	}
	for e := range journal {
		if (e.Kind != replay.KindOdds && e.Kind != replay.KindStatus) || e.Outcome != replay.OutcomePublished || e.FeedSeq <= 0 {
			continue
		}
		i, ok := index[e.Market]
		if !ok {
			i = len(v.markets)
			index[e.Market] = i
			v.markets = append(v.markets, e.Market)
		}
		for len(v.updates) <= i {
			v.updates = append(v.updates, nil)
		}
		v.updates[i] = append(v.updates[i], feedUpdate{seq: e.FeedSeq, intendedUS: e.IntendedUS, sentUS: e.SentUS})
	}
	for len(v.updates) < len(v.markets) {
		v.updates = append(v.updates, nil)
	}
	for _, ups := range v.updates {
		slices.SortStableFunc(ups, func(a, b feedUpdate) int {
			return cmp.Or(cmp.Compare(a.sentUS, b.sentUS), cmp.Compare(a.seq, b.seq))
		})
	}
	for _, s := range q.Subscribers {
		byMarket := make([][]seen, len(v.markets))
		for _, r := range s.Receipts {
			rs := byMarket[r.Market]
			m := r.FeedSeq
			if n := len(rs); n > 0 {
				m = max(m, rs[n-1].maxSeq)
			}
			byMarket[r.Market] = append(rs, seen{atUS: r.AtUS, maxSeq: m})
		}
		v.seen = append(v.seen, byMarket)
		v.sessions = append(v.sessions, s.Sessions)
	}
	return v
}

// subscribedAt reports whether a subscriber with sessions was subscribed at
// instant us.
func subscribedAt(sessions []replay.QuoteSession, us int64) bool {
	i := sort.Search(len(sessions), func(i int) bool { return sessions[i].ToUS > us })
	return i < len(sessions) && sessions[i].FromUS <= us
}

// measureQuoteLatency: for each feed update and each subscriber that was
// subscribed when the feed server published it, the time from its intended
// send to the first quote of its market at least as new (feed_seq ≥ its
// seq) that the subscriber received, on that subscription or a later one
// (a resubscription brings the current state, and that is when the bettor
// sees the update). An update that never arrived is a lost sample worth the
// time to the end of observation: a stream that drops quotes must not
// pass. A subscriber that was not subscribed at the time is not asked;
// what it missed shows in odds_staleness. Each sample sits at the update's
// intended time. O(updates × subscribers × log receipts).
func measureQuoteLatency(o *observed) iter.Seq[sample] {
	if !o.latencyDone {
		o.latencyDone = true
		if o.quotes != nil {
			o.quoteLatency = quoteLatencies(newQuoteView(o.journal, o.quotes))
		}
	}
	return slices.Values(o.quoteLatency)
}

func quoteLatencies(v *quoteView) []sample {
	var out []sample
	for mi, ups := range v.updates {
		for s, byMarket := range v.seen {
			rs := byMarket[mi]
			for _, u := range ups {
				if !subscribedAt(v.sessions[s], u.sentUS) {
					continue
				}
				k := sort.Search(len(rs), func(k int) bool { return rs[k].maxSeq >= u.seq })
				if k == len(rs) {
					out = append(out, sample{atUS: u.intendedUS, value: v.endUS - u.intendedUS, lost: true})
					continue
				}
				out = append(out, sample{atUS: u.intendedUS, value: rs[k].atUS - u.intendedUS})
			}
		}
	}
	return out
}

// measureOddsStaleness: every StalenessStepUS of the replay clock, from the
// first feed update sent to the end of the replay (or of observation, if
// that came first), for every market that has had an update sent and every
// subscriber: 0 when the subscriber has received a quote as new as the
// market's newest update the feed server has sent by then, otherwise the
// time since the oldest update it is missing was sent. That is how far a
// bettor's screen lags the vendor, and it counts a subscriber that is
// disconnected, which a latency cannot. Each sample sits at its own
// instant. One sweep per market and subscriber: O(samples + updates ×
// subscribers + receipts); samples are streamed, never held.
func measureOddsStaleness(o *observed) iter.Seq[sample] {
	return func(yield func(sample) bool) {
		if o.quotes == nil || len(o.quotes.Subscribers) == 0 {
			return
		}
		v := newQuoteView(o.journal, o.quotes)
		first := int64(-1)
		for _, ups := range v.updates {
			if len(ups) > 0 && (first < 0 || ups[0].sentUS < first) {
				first = ups[0].sentUS
			}
		}
		if first < 0 {
			return // no update was ever sent: nothing can be stale
		}
		end := v.endUS
		if o.endUS > 0 {
			end = min(end, o.endUS)
		}
		for mi, ups := range v.updates {
			if len(ups) == 0 {
				continue
			}
			// The first instant of the grid at or after the market's first update.
			t0 := first + (ups[0].sentUS-first+StalenessStepUS-1)/StalenessStepUS*StalenessStepUS
			for _, byMarket := range v.seen {
				rs := byMarket[mi]
				var p, j, r int // updates sent by t, the oldest not yet seen, receipts by t
				var have int64  // newest seq seen by t
				for t := t0; t <= end; t += StalenessStepUS {
					for p < len(ups) && ups[p].sentUS <= t {
						p++
					}
					for r < len(rs) && rs[r].atUS <= t {
						have = rs[r].maxSeq
						r++
					}
					for j < p && ups[j].seq <= have {
						j++
					}
					var lag int64
					if j < p {
						lag = t - ups[j].sentUS
					}
					if !yield(sample{atUS: t, value: lag}) {
						return
					}
				}
			}
		}
	}
}
