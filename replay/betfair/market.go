package betfair

import (
	"maps"
	"slices"

	"github.com/inplaylabs/inplay/replay"
)

// Betfair runner statuses in a market definition.
const (
	runnerActive        = "ACTIVE"
	runnerWinner        = "WINNER"
	runnerRemoved       = "REMOVED"
	runnerRemovedVacant = "REMOVED_VACANT"
)

// selKey is a runner's identity in a market: its selection id and handicap.
type selKey struct {
	id int64
	hc float64
}

// runner is one runner's state: its definition and its full book.
type runner struct {
	sel    string // the capture's selection id (see selectionID)
	status string // from the definition; "" until a definition names the runner
	adjust string // adjustment factor, as capture percent; "" for none

	atb, atl, trd, batb, batl, bdatb, bdatl ladder
	ltp, tv                                 float64 // 0: none yet

	shown string // the price last emitted for the runner, "" for none
	dirty bool   // changed since the market's last events
}

// active reports whether the runner takes bets: ACTIVE, or not yet in any
// definition.
func (r *runner) active() bool { return r.status == "" || r.status == runnerActive }

// removed reports whether the runner was withdrawn (a non-runner).
func (r *runner) removed() bool { return r.status == runnerRemoved || r.status == runnerRemovedVacant }

// display is the one price the capture shows for the runner: the best price
// available to back (batb level 0, else the highest atb, else bdatb level
// 0), else the last traded price; "" when the book has none of them.
func (r *runner) display() string {
	if l, ok := r.batb.first(); ok && l.key == 0 {
		return formatDecimal(l.price)
	}
	if l, ok := r.atb.last(); ok {
		return formatDecimal(l.price)
	}
	if l, ok := r.bdatb.first(); ok && l.key == 0 {
		return formatDecimal(l.price)
	}
	if r.ltp != 0 {
		return formatDecimal(r.ltp)
	}
	return ""
}

// clearBook empties the runner's book (an img replaces it), keeping memory.
func (r *runner) clearBook() {
	for _, l := range r.ladders() {
		*l = (*l)[:0]
	}
	r.ltp, r.tv = 0, 0
}

// freeBook drops the runner's book: a closed market shows no prices.
func (r *runner) freeBook() {
	for _, l := range r.ladders() {
		*l = nil
	}
}

func (r *runner) ladders() []*ladder {
	return []*ladder{&r.atb, &r.atl, &r.trd, &r.batb, &r.batl, &r.bdatb, &r.bdatl}
}

// applyChange applies one rc entry to the runner.
func (r *runner) applyChange(rc *runnerChange, note func(string)) {
	if rc.hasLtp {
		if validPrice(rc.ltp) {
			r.ltp = round4(rc.ltp)
		} else {
			note("ltp outside 1.01..1000, left out")
		}
	}
	if rc.hasTv {
		r.tv = rc.tv
	}
	if rc.trd != nil && len(rc.trd) == 0 {
		r.trd = r.trd[:0] // an empty trd clears the traded ladder
	}
	r.trd.update(rc.trd, false, note)
	r.atb.update(rc.atb, false, note)
	r.atl.update(rc.atl, false, note)
	r.batb.update(rc.batb, true, note)
	r.batl.update(rc.batl, true, note)
	r.bdatb.update(rc.bdatb, true, note)
	r.bdatl.update(rc.bdatl, true, note)
	r.dirty = true
}

// statusState is what a status event carries.
type statusState struct {
	status     string
	inPlay     bool
	betDelayMS int64
	removed    []string
	adjust     map[string]string
}

func (s statusState) equal(o statusState) bool {
	return s.status == o.status && s.inPlay == o.inPlay && s.betDelayMS == o.betDelayMS &&
		slices.Equal(s.removed, o.removed) && maps.Equal(s.adjust, o.adjust)
}

// market is one market's state.
type market struct {
	id      string
	runners []*runner // in the order first seen
	index   map[selKey]*runner

	status     string // capture status; "" until a definition gives one
	inPlay     bool
	betDelayMS int64
	settled    bool  // the last definition has a settledTime
	lastPT     int64 // pt of the last change, the vendor time of a snapshot

	shown    statusState // the state of the last status event
	resulted bool        // a result was emitted (or folded) since it closed
	omitted  bool        // closed and resulted before From: left out of the capture
}

func newMarket(id string) *market {
	return &market{id: id, index: make(map[selKey]*runner)}
}

// runner returns the market's runner k, adding it when new.
func (m *market) runner(k selKey) *runner {
	if r, ok := m.index[k]; ok {
		return r
	}
	r := &runner{sel: selectionID(k.id, k.hc)}
	m.index[k] = r
	m.runners = append(m.runners, r)
	return r
}

// apply applies one market change: an img empties every book first, then
// the definition (whole, as Betfair always sends it), then the runner
// changes.
func (m *market) apply(mc *marketChange, note func(string)) {
	if mc.img {
		for _, r := range m.runners {
			r.clearBook()
			r.dirty = true
		}
	}
	if d := mc.marketDefinition; d != nil {
		m.applyDefinition(d, note)
	}
	for i := range mc.rc {
		rc := &mc.rc[i]
		m.runner(selKey{rc.id, rc.hc}).applyChange(rc, note)
	}
}

func (m *market) applyDefinition(d *marketDefinition, note func(string)) {
	if d.status != nil {
		m.status = captureStatus(*d.status, note)
	} else {
		note("marketDefinition without status: the market's status is unchanged")
	}
	if m.status != replay.StatusClosed {
		m.resulted = false // reopened
	}
	if d.inPlay != nil {
		m.inPlay = *d.inPlay
	}
	if d.betDelay != nil {
		switch bd := *d.betDelay; {
		case bd < 0:
			note("negative betDelay, read as 0")
			m.betDelayMS = 0
		case bd > replay.MaxBetDelayMS/1000:
			note("betDelay above 60 s, read as 60 s")
			m.betDelayMS = replay.MaxBetDelayMS
		default:
			m.betDelayMS = bd * 1000
		}
	}
	m.settled = d.settledTime
	for _, rd := range d.runners {
		r := m.runner(selKey{rd.id, rd.hc})
		r.status = rd.status
		r.adjust = ""
		if f := rd.adjustmentFactor; f != nil {
			if v := round4(*f); v >= 0 && v <= 100 {
				r.adjust = formatDecimal(v)
			} else {
				note("adjustmentFactor outside 0..100, left out")
			}
		}
	}
	for _, r := range m.runners {
		r.dirty = true // a status change can make a runner (in)active
	}
}

// captureStatus maps a Betfair market status to the capture's.
func captureStatus(s string, note func(string)) string {
	switch s {
	case "OPEN":
		return replay.StatusOpen
	case "CLOSED":
		return replay.StatusClosed
	case "SUSPENDED", "INACTIVE":
		return replay.StatusSuspended
	}
	note("unknown market status, read as suspended")
	return replay.StatusSuspended
}

// state is the market's current status state.
func (m *market) state() statusState {
	s := statusState{status: m.status, inPlay: m.inPlay, betDelayMS: m.betDelayMS}
	for _, r := range m.runners {
		if r.removed() {
			s.removed = append(s.removed, r.sel)
		}
		if r.adjust != "" {
			if s.adjust == nil {
				s.adjust = make(map[string]string)
			}
			s.adjust[r.sel] = r.adjust
		}
	}
	return s
}

// statusEvent is the status event for s, after the market last showed
// prev: in_play and bet_delay_ms are written when they hold something
// other than their default or than what the market showed before (a
// reader keeps the earlier value of an absent one); removed and adjust
// always in full.
func (m *market) statusEvent(t, vendorMS int64, s, prev statusState) replay.Event {
	e := replay.Event{T: t, Kind: replay.KindStatus, Market: m.id, Status: s.status,
		Removed: s.removed, Adjust: s.adjust, Producer: Producer, VendorMS: vendorMS}
	if s.inPlay || prev.inPlay {
		e.InPlay = new(s.inPlay)
	}
	if s.betDelayMS != 0 || prev.betDelayMS != 0 {
		e.BetDelayMS = new(s.betDelayMS)
	}
	return e
}

// events appends the events that the market's last change gives: a status
// event when anything a status event carries changed, an odds event with
// every active runner whose shown price changed (not for a closed market),
// and a result when the market closed and its outcome is known.
func (m *market) events(out []replay.Event, t, vendorMS int64) []replay.Event {
	if m.omitted {
		if m.status == replay.StatusClosed {
			m.clean()
			return out
		}
		m.omitted = false // reopened after From: shown in full again
	}
	if m.status != "" {
		if s := m.state(); !s.equal(m.shown) {
			out = append(out, m.statusEvent(t, vendorMS, s, m.shown))
			m.shown = s
		}
	}
	if m.status != replay.StatusClosed {
		if prices := m.prices(false); prices != nil {
			out = append(out, replay.Event{T: t, Kind: replay.KindOdds, Market: m.id, Prices: prices, Producer: Producer, VendorMS: vendorMS})
		}
	}
	if winners, ok := m.outcome(); ok {
		out = append(out, replay.Event{T: t, Kind: replay.KindResult, Market: m.id, Winners: winners, Producer: Producer, VendorMS: vendorMS})
		m.resulted = true
	}
	m.clean()
	return out
}

// fold takes a change before From into the state without events: a result
// is taken as given, so it is not emitted after From.
func (m *market) fold() {
	if _, ok := m.outcome(); ok {
		m.resulted = true
	}
	m.clean()
}

// snapshot appends the market's state as of From, at t: its status and
// the prices of its active runners. A market closed and resulted before
// From is left out, and stays out unless it reopens.
func (m *market) snapshot(out []replay.Event, t int64) []replay.Event {
	if m.status == replay.StatusClosed && m.resulted {
		m.omitted = true
		return out
	}
	if m.status != "" {
		s := m.state()
		out = append(out, m.statusEvent(t, m.lastPT, s, statusState{}))
		m.shown = s
	}
	if m.status != replay.StatusClosed {
		if prices := m.prices(true); prices != nil {
			out = append(out, replay.Event{T: t, Kind: replay.KindOdds, Market: m.id, Prices: prices, Producer: Producer, VendorMS: m.lastPT})
		}
	}
	return out
}

// prices returns the shown price of every active runner whose price
// changed since it was last shown (all of them with a price, when all is
// set), and records them as shown; nil when there is none.
func (m *market) prices(all bool) map[string]string {
	var out map[string]string
	for _, r := range m.runners {
		if !r.active() {
			r.shown = "" // shown again in full if it comes back
			continue
		}
		if !r.dirty && !all {
			continue
		}
		p := r.display()
		if p == "" || (p == r.shown && !all) {
			continue
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[r.sel] = p
		r.shown = p
	}
	return out
}

// outcome is the market's result, once it is closed and not yet resulted:
// the runners the definition marks WINNER (several for a dead heat or a
// place market); or none, a void, when the market was settled (settledTime)
// with no WINNER and no runner still ACTIVE, which is every runner LOSER or
// REMOVED. A closed market whose runners are not settled yet has no
// outcome: a later definition gives it.
func (m *market) outcome() ([]string, bool) {
	if m.status != replay.StatusClosed || m.resulted {
		return nil, false
	}
	winners := []string{}
	unsettled := false
	for _, r := range m.runners {
		switch {
		case r.status == runnerWinner:
			winners = append(winners, r.sel)
		case r.active():
			unsettled = true
		}
	}
	if len(winners) > 0 {
		return winners, true
	}
	if m.settled && !unsettled && len(m.runners) > 0 {
		return winners, true // void
	}
	return nil, false
}

// clean marks every runner clean, and drops the books of a closed market,
// which shows no prices: what a long file of many markets keeps is a few
// bytes per closed market.
func (m *market) clean() {
	closed := m.status == replay.StatusClosed
	for _, r := range m.runners {
		r.dirty = false
		if closed {
			r.freeBook()
		}
	}
}
