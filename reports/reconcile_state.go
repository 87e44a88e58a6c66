package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/inplaylabs/inplay/replay"
)

// codeMarketSuspended is the platform error code of a bet refused because
// its market is not open (docs/api.md).
const codeMarketSuspended = "EMARKETSUSPENDED"

// statusOpen is the one market status a bet may be accepted in.
const statusOpen = replay.StatusOpen

// closedWindow is a stretch of a market's timeline during which it was not
// open, on the replay clock (µs): from the publication of the status event
// that closed it (suspended or closed) to the publication of the next open,
// and the evidence that the platform had it.
type closedWindow struct {
	from, to   int64               // published; to is MaxInt64 when the market never reopened
	status     replay.JournalEntry // the status event that began it
	prevOpen   int64               // the last open published before it; MinInt64 if none
	evidence   replay.JournalEntry // the earliest refusal proving the platform had it
	hasEvident bool
}

// journalRef names a journal entry in a witness.
func journalRef(seq int64) string { return "journal:" + strconv.FormatInt(seq, 10) }

// noBetWhileSuspended (DESIGN.md 10): no bet is accepted on a market that
// was suspended when its in-play delay ended.
//
// The journal holds each market's timeline as the harness published it,
// and every bet's send and answer times, on one replay clock. The platform
// checks the market again as a bet's delay ends, which is some time in
// [first send + InPlayDelay, answer]. The platform applies a published
// status some unknown time later, so a bet is judged only when the
// platform demonstrably had the market closed for that whole interval:
//
//   - a bet on the same market was refused with EMARKETSUSPENDED, sent after
//     the status that closed the market was published and at least
//     FeedGrace after the last open before it (so that open was applied,
//     and the refusal saw this closure, not an older one), and answered
//     before the accepted bet's delay could have ended;
//   - the accepted bet was answered before the next open was published, so
//     nothing could have reopened the market in between;
//   - no fault of the run was in effect from FeedGrace before the closure
//     to the accepted bet's answer, since a fault can hold a feed message
//     back longer than FeedGrace.
//
// The first send of a bet id counts (a resend of a booked bet is answered
// with the booking, whatever the market is now).
func (b *books) noBetWhileSuspended(c *check) {
	if b.unlabelled > 0 {
		c.skip(fmt.Sprintf("the journal's %d status events carry no status (a journal written before they were recorded)", b.unlabelled))
		return
	}
	grace := b.opts.FeedGrace
	if grace <= 0 {
		grace = DefaultFeedGrace
	}
	graceUS, delayUS := grace.Microseconds(), b.opts.InPlayDelay.Microseconds()

	windows := map[string][]closedWindow{}
	for market, events := range b.timeline {
		var ws []closedWindow
		prevOpen := int64(math.MinInt64)
		for _, e := range events {
			open := e.Status == statusOpen
			switch {
			case open && len(ws) > 0 && ws[len(ws)-1].to == math.MaxInt64:
				ws[len(ws)-1].to = e.SentUS
			case !open && (len(ws) == 0 || ws[len(ws)-1].to != math.MaxInt64):
				ws = append(ws, closedWindow{from: e.SentUS, to: math.MaxInt64, status: e, prevOpen: prevOpen})
			}
			if open {
				prevOpen = e.SentUS
			}
		}
		for _, r := range b.suspendedAt[market] {
			for i := range ws {
				w := &ws[i]
				if r.SentUS >= w.from && r.SentUS >= sat(w.prevOpen, graceUS) && r.DoneUS <= w.to &&
					(!w.hasEvident || r.DoneUS < w.evidence.DoneUS) {
					w.evidence, w.hasEvident = r, true
				}
			}
		}
		windows[market] = ws
	}

	skipped := 0
	for j, id := range b.order[replay.KindBet] {
		b.pin(id, b.orderSlot[replay.KindBet][j])
		reqs := b.sent(replay.KindBet, id)
		i := slices.IndexFunc(reqs, func(e replay.JournalEntry) bool { return e.Outcome == replay.OutcomeAccepted })
		if i < 0 {
			continue
		}
		acc := reqs[i]
		ws := windows[acc.Market]
		if len(b.timeline[acc.Market]) == 0 {
			continue
		}
		c.looked(1)
		first := acc.SentUS
		for _, e := range reqs {
			first = min(first, e.SentUS)
		}
		earliest := first + delayUS
		for _, w := range ws {
			if !w.hasEvident || w.evidence.DoneUS > earliest || acc.DoneUS > w.to {
				continue
			}
			if b.faultOverlaps(w.from-graceUS, acc.DoneUS) {
				skipped++
				continue
			}
			reopened := "never reopened"
			if w.to != math.MaxInt64 {
				reopened = fmt.Sprintf("reopened at %s", seconds(w.to))
			}
			c.violated(fmt.Sprintf("bet %s on market %s was accepted (sent %s, answered %s, delay %s) while the market was %s since %s (%s); the platform refused bet %s on it as %s, answered %s, before this bet's delay could end",
				id, acc.Market, seconds(first), seconds(acc.DoneUS), b.opts.InPlayDelay, w.status.Status, seconds(w.from), reopened,
				w.evidence.ID, codeMarketSuspended, seconds(w.evidence.DoneUS)),
				id, acc.Market, journalRef(w.status.Seq), w.evidence.ID)
			break
		}
	}
	closed := 0
	for _, ws := range windows {
		closed += len(ws)
	}
	c.inv.Note = fmt.Sprintf("%d markets with a timeline, %d closed windows", len(windows), closed)
	if skipped > 0 {
		c.inv.Note += fmt.Sprintf("; %d bets not judged because a fault overlapped their market's window", skipped)
	}
}

// sat is a + d, saturating at the int64 bounds.
func sat(a, d int64) int64 {
	if a == math.MinInt64 {
		return a
	}
	if a > math.MaxInt64-d {
		return math.MaxInt64
	}
	return a + d
}

// faultOverlaps reports whether any fault of the run was in effect at some
// time in [from, to] (µs on the replay clock).
func (b *books) faultOverlaps(from, to int64) bool {
	for _, f := range b.opts.Faults {
		if !f.Injected {
			continue
		}
		start := int64(f.InjectedAtS * 1e6)
		end := int64(math.MaxInt64)
		if f.Healed {
			end = int64(f.HealedAtS * 1e6)
		}
		if start <= to && end >= from {
			return true
		}
	}
	return false
}

// seconds renders a replay-clock time in µs as seconds.
func seconds(us int64) string {
	return strconv.FormatFloat(float64(us)/1e6, 'f', 3, 64) + "s"
}

// hotStateMatches (DESIGN.md 11): once traffic stops, the hot state says
// what the ledger implies (docs/hot-state.md). Every market in the ledger
// is in the hot state with the same status (settled is final in both),
// and a market the hot state has without a ledger row has only been quoted
// (it is open: its status never came, which is what writes the ledger row).
func (b *books) hotStateMatches(c *check) { hotStateCheck(b.l, b.opts.HotState, c) }

// CheckHotState is hot_state_matches_ledger on its own, for a caller that
// waits for the hot state to settle (the runner, after the drain) before
// it reconciles.
func CheckHotState(l *Ledger, hs *HotState) Invariant {
	c := newCheck(InvHotStateMatches)
	hotStateCheck(l, hs, c)
	return c.done()
}

func hotStateCheck(l *Ledger, hs *HotState, c *check) {
	switch {
	case hs == nil:
		c.skip("no hot state was read (a ledger export has none): re-check the kept run's Redis with inplay reconcile --redis-url")
		return
	case !hs.Built:
		c.skip("the hot state has no epoch: it was lost and was still being rebuilt when it was read")
		return
	}
	inLedger := map[string]bool{}
	for _, m := range l.Markets {
		if inLedger[m.ID] {
			continue
		}
		inLedger[m.ID] = true
		c.looked(1)
		h, ok := hs.Markets[m.ID]
		switch {
		case !ok:
			c.violated(fmt.Sprintf("market %s is %s in the ledger but missing from the hot state", m.ID, m.Status), m.ID)
		case h.Status != m.Status:
			c.violated(fmt.Sprintf("market %s is %s in the hot state (%s, feed seq %d) but %s in the ledger",
				m.ID, h.Status, h.Key, h.Seq, m.Status), m.ID, h.Key)
		}
	}
	ids := make([]string, 0, len(hs.Markets))
	for id := range hs.Markets {
		if !inLedger[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.looked(1)
		if h := hs.Markets[id]; h.Status != statusOpen {
			c.violated(fmt.Sprintf("market %s is %s in the hot state (%s) but the ledger has no row for it; a status reaches the ledger first",
				id, h.Status, h.Key), id, h.Key)
		}
	}
	// Bets outside the ledger: once traffic stops, none may still wait on
	// its delay, and none refused by it may be booked.
	booked := map[string]bool{}
	for _, bet := range l.Bets {
		booked[bet.ID] = true
	}
	bets := slices.Sorted(maps.Keys(hs.Bets))
	for _, id := range bets {
		h := hs.Bets[id]
		c.looked(1)
		switch {
		case h.Status == "pending":
			c.violated(fmt.Sprintf("bet %s is still pending its in-play delay in the hot state (%s) after traffic stopped: nothing decided it", id, h.Key), id, h.Key)
		case h.Status == "rejected" && booked[id]:
			c.violated(fmt.Sprintf("bet %s is rejected (%s) in the hot state (%s) but booked in the ledger", id, h.Code, h.Key), id, h.Key)
		case h.Status != "rejected":
			c.violated(fmt.Sprintf("bet %s has status %q in the hot state (%s), neither pending nor rejected", id, h.Status, h.Key), id, h.Key)
		}
	}
	c.inv.Note = fmt.Sprintf("%d markets in the ledger, %d in the hot state; %d bets kept outside the ledger", len(inLedger), len(hs.Markets), len(bets))
}
