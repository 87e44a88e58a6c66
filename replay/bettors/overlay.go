package bettors

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/inplaylabs/inplay/replay"
)

// The model's parameters; the package doc says where each comes from.
const (
	medianStake      = 610.0 // minor units: a median stake of 6.10
	bettorStakeSigma = 0.8   // spread of the bettors' own median stakes (ln)
	betStakeSigma    = 0.7   // spread of one bettor's stakes around their median (ln)
	minStake         = 100   // 1.00, the smallest stake the overlay makes
	stakeStep        = 50    // stakes are round: multiples of 0.50

	activityAlpha = 1.16  // Pareto tail of activity: the top 20% make ~80% of decisions
	activityCap   = 200.0 // the busiest bettor is at most 200 times the quietest

	reactionMedian = 600_000   // µs from seeing a price to the request
	reactionSigma  = 0.5       // its spread (ln)
	reactionMin    = 200_000   // µs
	reactionMax    = 2_000_000 // µs

	burstTau      = 20_000_000 // µs: a burst decays by e every 20 s
	burstIncident = 3.0        // a goal, a wicket: +300% of the base rate
	burstReopen   = 2.0        // a suspended market reopens: +200%
	burstMove     = 1.5        // a price moves by more than bigMovePct: +150%
	burstCap      = 5.0        // bursts add at most +500%, on one market or all together
	bigMovePct    = 20

	cashoutGainPct = 15  // a price shortened by 15% or more is a favourable move
	cashoutChance  = 0.3 // of cashing out such a bet when its bettor next looks
	openBets       = 4   // bets a bettor watches for a cash-out, newest first

	depositLeadMin = 2_000_000  // µs from a deposit to the bettor's next look
	depositLeadMax = 10_000_000 // µs
	bankrollMin    = 8.0        // a deposit is 8 to 30 of the bettor's median stakes
	bankrollMax    = 30.0
	depositStep    = 1000 // deposits are whole 10.00s

	withdrawChance = 0.3 // of a bettor with money left withdrawing near the end
	withdrawMin    = 0.2 // of what is left, at least
	withdrawMax    = 0.8 // and at most
	withdrawStep   = 100 // withdrawals are whole 1.00s
	minWithdraw    = 1000
)

// MaxMaxStake bounds Config.MaxStake, so that a cash-out's stake × odds
// stays within int64.
const MaxMaxStake = 100_000_000_000

const never = math.MaxInt64

// Overlay returns src's events unchanged, merged in t_us order with the
// events of a seeded bettor population (deposits, bets, cash-outs and
// withdrawals) that reacts to src's feed as the package doc describes.
// At equal t_us, src's events come first, so a bettor acts on the feed as
// of that instant. It reads src one event at a time and holds only
// per-market and per-bettor state and the events it has planned but not
// yet returned; the same src and cfg give the same events. The header is
// src's. An error from src, a src event out of t_us order, or a bettor
// event of src whose account or id starts with cfg.Prefix ends the stream
// with an error.
func Overlay(src replay.Stream, cfg Config) (replay.Stream, error) {
	errs := cfg.Validate()
	if cfg.MaxStake > MaxMaxStake {
		errs = append(errs, fmt.Errorf("max stake is %d; it must be at most %d", cfg.MaxStake, int64(MaxMaxStake)))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bettors: %w", errors.Join(errs...))
	}
	cfg = cfg.withDefaults()
	o := &overlay{
		src:      src,
		header:   src.Header(),
		cfg:      cfg,
		d:        newDraws(cfg.Seed, 0x62657474696e67), // "betting"
		markets:  map[string]*market{},
		bettors:  make([]bettor, cfg.Bettors),
		lambda0:  float64(float64(cfg.Bettors)*cfg.Rate) / 3600,
		nextView: never,
	}
	o.dur = o.header.DurationUS
	// Activity from a stream of its own, so that it does not depend on
	// anything else drawn.
	ad := newDraws(cfg.Seed, 0x616374697665) // "active"
	w := make([]float64, cfg.Bettors)
	for i := range w {
		w[i] = min(ad.pareto(activityAlpha), activityCap)
	}
	o.who = newAliasTable(w)
	if o.dur > 0 {
		o.push(item{t: o.dur - o.dur/20, kind: itemEndPhase})
		o.endPlanned = true
	}
	return o, nil
}

// overlay is the Stream Overlay returns: a discrete-event simulation run
// forward as its events are asked for.
type overlay struct {
	src    replay.Stream
	header replay.Header
	cfg    Config
	d      draws
	dur    int64 // the header's duration_us; 0 = unknown

	peek     *replay.Event // src's next event, read but not yet returned
	srcDone  bool
	lastSrcT int64
	err      error

	now     int64 // the simulation clock, µs
	markets map[string]*market
	open    []*market // markets open now, in the order they opened
	scratch []float64

	bettors []bettor
	who     aliasTable // draws the bettor who acts, by activity
	lambda0 float64    // decisions per second of the population at the base rate

	nextView   int64   // when the next candidate decision falls; never = none
	viewBound  float64 // the rate it was drawn at, an upper bound until then
	pending    []item  // a min-heap on (t, seq)
	seq        uint64
	maxPending int // the most items pending at once, for the tests
	endPlanned bool
}

// market is what the overlay knows of one market from the feed.
type market struct {
	id      string
	status  string // "" until a status event
	inPlay  bool
	prices  map[string]int64  // selection → odds × 10000
	text    map[string]string // selection → odds as the feed wrote them
	sels    []string          // selections with a price, sorted
	removed map[string]bool
	burst   float64 // burst level at burstT, as a multiple of the base rate
	burstT  int64
	openIdx int // index in overlay.open, or -1
}

// bettor is one account's state.
type bettor struct {
	account   string
	started   bool // has made a first deposit
	waking    bool // deposited and not yet looked again
	median    float64
	policy    string
	deposited int64
	staked    int64 // every planned stake, as if each bet were accepted and lost
	withdrawn int64
	n         int // events made, for ids
	watch     []openBet
}

// available is what the bettor can still stake or withdraw, assuming each
// of their bets is accepted and lost and no cash-out is paid.
func (b *bettor) available() int64 { return b.deposited - b.staked - b.withdrawn }

// openBet is a bet that looked accepted, in play, watched for a cash-out.
type openBet struct {
	id    string
	m     *market
	sel   string
	e4    int64
	stake int64
}

type itemKind uint8

const (
	itemEvent    itemKind = iota // return ev, checked first for bets and cash-outs
	itemWake                     // the bettor looks again after a deposit
	itemEndPhase                 // plan the withdrawals
)

// item is something planned for time t.
type item struct {
	t    int64
	seq  uint64
	kind itemKind
	ev   replay.Event
	who  int32   // the bettor
	m    *market // a bet's or cash-out's market
	e4   int64   // a bet's requested odds
}

func (o *overlay) Header() replay.Header { return o.header }

// Next returns the next event in t_us order: src's, or a planned one.
func (o *overlay) Next() (replay.Event, error) {
	for o.err == nil {
		if o.peek == nil && !o.srcDone {
			o.fill()
			continue
		}
		ts, th, tv := int64(never), int64(never), o.nextView
		if o.peek != nil {
			ts = o.peek.T
		}
		if len(o.pending) > 0 {
			th = o.pending[0].t
		}
		switch {
		case o.peek != nil && ts <= th && ts <= tv:
			e := *o.peek
			o.peek = nil
			o.now = e.T
			o.apply(e)
			o.scheduleView()
			if o.err != nil {
				return replay.Event{}, o.err
			}
			return e, nil
		case th != never && th <= tv:
			it := o.pop()
			o.now = it.t
			if e, ok := o.due(it); ok {
				return e, nil
			}
		case tv != never:
			o.now = tv
			o.view()
			o.scheduleView()
		default:
			return replay.Event{}, io.EOF
		}
	}
	return replay.Event{}, o.err
}

// fill reads src's next event into peek, checking it.
func (o *overlay) fill() {
	e, err := o.src.Next()
	switch {
	case err == io.EOF:
		o.srcDone = true
		o.nextView = never
		if !o.endPlanned {
			// No duration: near the end is when the feed ends.
			o.push(item{t: max(o.now, o.lastSrcT), kind: itemEndPhase})
			o.endPlanned = true
		}
		return
	case err != nil:
		o.err = err
		return
	case e.T < o.lastSrcT:
		o.err = fmt.Errorf("bettors: the capture's event at t_us %d comes after one at %d", e.T, o.lastSrcT)
		return
	case !e.Kind.IsFeed() && (strings.HasPrefix(e.Account, o.cfg.Prefix) || strings.HasPrefix(e.ID, o.cfg.Prefix)):
		o.err = fmt.Errorf("bettors: the capture's %s at t_us %d (account %q, id %q) starts with the overlay's prefix %q; "+
			"its ids could collide with the overlay's: choose another prefix", e.Kind, e.T, e.Account, e.ID, o.cfg.Prefix)
		return
	}
	o.lastSrcT = e.T
	o.peek = &e
}

// apply folds a src event into the markets' state, and starts a burst
// where the feed says something happened.
func (o *overlay) apply(e replay.Event) {
	if !e.Kind.IsFeed() {
		return
	}
	m := o.market(e.Market)
	switch e.Kind {
	case replay.KindOdds:
		moved := false
		for sel, p := range e.Prices {
			e4, err := replay.ParseOdds(p)
			if err != nil {
				o.err = fmt.Errorf("bettors: the capture's odds at t_us %d: %w", e.T, err)
				return
			}
			if old, ok := m.prices[sel]; ok && abs(e4-old)*100 > bigMovePct*old {
				moved = true
			} else if !ok {
				i, _ := slices.BinarySearch(m.sels, sel)
				m.sels = slices.Insert(m.sels, i, sel)
			}
			m.prices[sel], m.text[sel] = e4, p
		}
		if moved {
			o.burst(m, burstMove)
		}
	case replay.KindStatus:
		prev := m.status
		m.status = e.Status
		if e.InPlay != nil {
			m.inPlay = *e.InPlay
		}
		for _, sel := range e.Removed {
			m.removed[sel] = true
		}
		o.setOpen(m, e.Status == replay.StatusOpen)
		if prev == replay.StatusSuspended && e.Status == replay.StatusOpen {
			o.burst(m, burstReopen)
		}
	case replay.KindIncident:
		o.burst(m, burstIncident)
	}
}

func (o *overlay) market(id string) *market {
	m := o.markets[id]
	if m == nil {
		// A market whose status never says otherwise is in play: a capture
		// from before in_play existed was all in play.
		m = &market{id: id, inPlay: true, prices: map[string]int64{}, text: map[string]string{},
			removed: map[string]bool{}, openIdx: -1}
		o.markets[id] = m
	}
	return m
}

func (o *overlay) setOpen(m *market, open bool) {
	switch {
	case open && m.openIdx < 0:
		m.openIdx = len(o.open)
		o.open = append(o.open, m)
	case !open && m.openIdx >= 0:
		// Keep the order the others opened in: the draws depend on it.
		o.open = slices.Delete(o.open, m.openIdx, m.openIdx+1)
		for i := m.openIdx; i < len(o.open); i++ {
			o.open[i].openIdx = i
		}
		m.openIdx = -1
	}
}

// burst adds a to m's burst level at now.
func (o *overlay) burst(m *market, a float64) {
	m.burst, m.burstT = min(m.burstLevel(o.now)+a, burstCap), o.now
}

// burstLevel is m's burst level at t >= burstT.
func (m *market) burstLevel(t int64) float64 {
	if m.burst == 0 {
		return 0
	}
	return float64(m.burst * expDet(-float64(t-m.burstT)/burstTau))
}

// base is m's base rate as a fraction of the in-play one.
func (o *overlay) base(m *market) float64 {
	if m.inPlay {
		return 1
	}
	return o.cfg.PreMatch
}

// rate is the population's decision rate at t, per second: the base rate
// of the most in-play open market, plus the open markets' bursts, at most
// burstCap in all. One population's attention is shared: two matches in
// play do not double the base rate, and two goals at once do not double
// the burst.
func (o *overlay) rate(t int64) float64 {
	base, burst := o.levels(t)
	return float64(o.lambda0 * (base + min(burst, burstCap)))
}

// levels are the base (the largest open market's) and the sum of the open
// markets' bursts at t, each weighted by its market's base.
func (o *overlay) levels(t int64) (base, burst float64) {
	for _, m := range o.open {
		f := o.base(m)
		base = max(base, f)
		burst += float64(f * m.burstLevel(t))
	}
	return base, burst
}

// scheduleView draws when the next candidate decision falls, at the rate
// of now: between src events the rate only decays, so it bounds the rate
// until then, and view thins the candidates to the rate of their moment.
func (o *overlay) scheduleView() {
	o.nextView = never
	if o.srcDone {
		return
	}
	lam := o.rate(o.now)
	if !(lam > 0) {
		return
	}
	gap := float64(o.d.exp()*1e6) / lam
	if gap >= 1e15 {
		return
	}
	t := o.now + int64(gap) + 1
	if o.dur > 0 && t >= o.dur {
		return
	}
	o.nextView, o.viewBound = t, lam
}

// view is a candidate decision at now: kept with probability rate/bound,
// then made by a bettor drawn by activity.
func (o *overlay) view() {
	if float64(o.d.r.Float64()*o.viewBound) >= o.rate(o.now) {
		return
	}
	o.decide(o.who.draw(o.d), o.now)
}

// decide is bettor i looking at the markets at v: a first deposit, a
// cash-out, a bet, or a top-up deposit when the bet is beyond their means.
func (o *overlay) decide(i int, v int64) {
	b := &o.bettors[i]
	if b.waking {
		return // busy depositing
	}
	if !b.started {
		b.started = true
		b.account = o.cfg.Prefix + "a" + strconv.Itoa(i+1)
		b.median = o.d.logNormal(medianStake, bettorStakeSigma)
		switch x := o.d.r.IntN(100); {
		case x < o.cfg.PolicyMix.Exact:
			b.policy = replay.PolicyExact // written: a bet without a policy takes the platform's default
		case x < o.cfg.PolicyMix.Exact+o.cfg.PolicyMix.Better:
			b.policy = replay.PolicyBetter
		default:
			b.policy = replay.PolicyAny
		}
		o.deposit(i, v, 0)
		return
	}
	if o.cashout(i, v) {
		return
	}
	m := o.pickMarket(v)
	if m == nil {
		return
	}
	sel, ok := o.pickSelection(m)
	if !ok {
		return
	}
	stake := o.stake(b)
	if stake > b.available() {
		o.deposit(i, v, stake)
		return
	}
	t := v + o.reaction()
	if o.dur > 0 && t >= o.dur {
		return
	}
	b.staked += stake
	o.push(item{t: t, kind: itemEvent, who: int32(i), m: m, e4: m.prices[sel], ev: replay.Event{
		T: t, Kind: replay.KindBet, Account: b.account, ID: o.id(b, "b", i), Market: m.id,
		Selection: sel, Odds: m.text[sel], Stake: stake, Policy: b.policy,
	}})
}

// deposit tops bettor i up at v so that need is affordable, with a
// bankroll of several median stakes; they look again a little later.
func (o *overlay) deposit(i int, v, need int64) {
	b := &o.bettors[i]
	amount := int64(o.d.uniform(bankrollMin, bankrollMax)*b.median) + 1
	amount = max(amount, need-b.available())
	amount = (amount + depositStep - 1) / depositStep * depositStep
	b.deposited += amount
	o.push(item{t: v, kind: itemEvent, ev: replay.Event{T: v, Kind: replay.KindDeposit,
		Account: b.account, ID: o.id(b, "d", i), Amount: amount}})
	b.waking = true
	o.push(item{t: v + depositLeadMin + o.d.r.Int64N(depositLeadMax-depositLeadMin+1), kind: itemWake, who: int32(i)})
}

// cashout cashes out, with cashoutChance, the watched bet of bettor i whose
// price has shortened the most, if it shortened by cashoutGainPct or more
// and its market is open and in play. It reports whether it did.
func (o *overlay) cashout(i int, v int64) bool {
	b := &o.bettors[i]
	best, bestNow := -1, int64(0)
	b.watch = slices.DeleteFunc(b.watch, func(ob openBet) bool { return ob.m.status == replay.StatusClosed })
	for j, ob := range b.watch {
		m := ob.m
		now, ok := m.prices[ob.sel]
		if m.status != replay.StatusOpen || !m.inPlay || !ok || m.removed[ob.sel] {
			continue
		}
		if now*100 > (100-cashoutGainPct)*ob.e4 {
			continue // not favourable enough
		}
		if best < 0 || now*b.watch[best].e4 < bestNow*ob.e4 {
			best, bestNow = j, now
		}
	}
	if best < 0 || !o.d.chance(cashoutChance) {
		return false
	}
	ob := b.watch[best]
	b.watch = slices.Delete(b.watch, best, best+1)
	t := v + o.reaction()
	if o.dur > 0 && t >= o.dur {
		return true
	}
	// What the bet is worth at the price the bettor sees: stake × old
	// odds / new odds (≥ stake, as the price shortened).
	amount := ob.stake * ob.e4 / bestNow
	o.push(item{t: t, kind: itemEvent, who: int32(i), m: ob.m, ev: replay.Event{
		T: t, Kind: replay.KindCashout, Account: b.account, ID: o.id(b, "c", i), Bet: ob.id, Amount: amount,
	}})
	return true
}

// pickMarket draws an open market with a selection to back: the base rate
// shared among the open markets by their base, plus each one's burst
// (scaled down together when they pass burstCap).
func (o *overlay) pickMarket(v int64) *market {
	var sum, total float64
	for _, m := range o.open {
		sum += o.base(m)
	}
	top, burst := o.levels(v)
	if !(sum > 0) {
		return nil
	}
	scale := 1.0
	if burst > burstCap {
		scale = burstCap / burst
	}
	o.scratch = o.scratch[:0]
	for _, m := range o.open {
		f := o.base(m)
		w := float64(top*f)/sum + float64(float64(f*m.burstLevel(v))*scale)
		if len(m.sels) == 0 {
			w = 0
		}
		o.scratch = append(o.scratch, w)
		total += w
	}
	if !(total > 0) {
		return nil
	}
	x := float64(o.d.r.Float64() * total)
	for i, w := range o.scratch {
		if x < w {
			return o.open[i]
		}
		x -= w
	}
	for i := len(o.open) - 1; i >= 0; i-- { // what rounding left over
		if o.scratch[i] > 0 {
			return o.open[i]
		}
	}
	return nil
}

// pickSelection draws a priced, running selection of m in proportion to
// its implied probability (1/odds): bettors back what the book thinks
// likely, as the book expects.
func (o *overlay) pickSelection(m *market) (string, bool) {
	var total int64
	for _, s := range m.sels {
		if !m.removed[s] {
			total += 100_000_000 / m.prices[s]
		}
	}
	if total == 0 {
		return "", false
	}
	x := o.d.r.Int64N(total)
	for _, s := range m.sels {
		if m.removed[s] {
			continue
		}
		if w := 100_000_000 / m.prices[s]; x < w {
			return s, true
		} else {
			x -= w
		}
	}
	return "", false // unreachable: x < total
}

// stake draws a stake for b: log-normal around their median, round, at
// least minStake and at most MaxStake.
func (o *overlay) stake(b *bettor) int64 {
	s := min(o.d.logNormal(b.median, betStakeSigma), float64(o.cfg.MaxStake))
	n := int64(s/stakeStep+0.5) * stakeStep
	return min(max(n, minStake), o.cfg.MaxStake)
}

// reaction draws the time from a bettor seeing a price to their request
// reaching the platform, in µs.
func (o *overlay) reaction() int64 {
	r := o.d.logNormal(reactionMedian, reactionSigma)
	return int64(min(max(r, reactionMin), reactionMax))
}

// id makes bettor i's next id of a kind: {prefix}{kind}{bettor}-{n}.
func (o *overlay) id(b *bettor, kind string, i int) string {
	b.n++
	buf := make([]byte, 0, len(o.cfg.Prefix)+24)
	buf = append(buf, o.cfg.Prefix...)
	buf = append(buf, kind...)
	buf = strconv.AppendInt(buf, int64(i+1), 10)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(b.n), 10)
	return string(buf)
}

// due handles an item whose time has come; ok when it is an event to
// return. A bet whose market is no longer open or whose selection lost its
// price by the time it is sent is dropped (the bettor's app would refuse
// it) and its stake given back; a bet that goes out at the price it asked,
// in play, is watched for a cash-out.
func (o *overlay) due(it item) (replay.Event, bool) {
	switch it.kind {
	case itemWake:
		o.bettors[it.who].waking = false
		o.decide(int(it.who), it.t)
		return replay.Event{}, false
	case itemEndPhase:
		o.endPhase()
		return replay.Event{}, false
	}
	switch it.ev.Kind {
	case replay.KindBet:
		b, m := &o.bettors[it.who], it.m
		now, priced := m.prices[it.ev.Selection]
		if m.status != replay.StatusOpen || !priced || m.removed[it.ev.Selection] {
			b.staked -= it.ev.Stake
			return replay.Event{}, false
		}
		if m.inPlay && now == it.e4 {
			b.watch = append(b.watch, openBet{id: it.ev.ID, m: m, sel: it.ev.Selection, e4: it.e4, stake: it.ev.Stake})
			if len(b.watch) > openBets {
				b.watch = slices.Delete(b.watch, 0, 1)
			}
		}
	case replay.KindCashout:
		if it.m.status != replay.StatusOpen {
			return replay.Event{}, false
		}
	}
	return it.ev, true
}

// endPhase plans the withdrawals: some bettors with money left take part
// of it out, at times spread from now to the end of the capture.
func (o *overlay) endPhase() {
	end := o.dur
	if end <= o.now {
		end = o.now + 5_000_000
	}
	for i := range o.bettors {
		b := &o.bettors[i]
		left := b.available()
		if !b.started || left < minWithdraw || !o.d.chance(withdrawChance) {
			continue
		}
		amount := int64(float64(left)*o.d.uniform(withdrawMin, withdrawMax)) / withdrawStep * withdrawStep
		if amount < withdrawStep {
			continue
		}
		b.withdrawn += amount
		t := o.now + o.d.r.Int64N(end-o.now)
		o.push(item{t: t, kind: itemEvent, ev: replay.Event{T: t, Kind: replay.KindWithdraw,
			Account: b.account, ID: o.id(b, "w", i), Amount: amount}})
	}
}

// push adds it to the heap.
func (o *overlay) push(it item) {
	o.seq++
	it.seq = o.seq
	o.pending = append(o.pending, it)
	o.maxPending = max(o.maxPending, len(o.pending))
	for i := len(o.pending) - 1; i > 0; {
		p := (i - 1) / 2
		if !o.pending[i].before(o.pending[p]) {
			break
		}
		o.pending[i], o.pending[p] = o.pending[p], o.pending[i]
		i = p
	}
}

// pop removes and returns the earliest item.
func (o *overlay) pop() item {
	h := o.pending
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = item{}
	h = h[:last]
	for i := 0; ; {
		l, r, s := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].before(h[s]) {
			s = l
		}
		if r < len(h) && h[r].before(h[s]) {
			s = r
		}
		if s == i {
			break
		}
		h[i], h[s] = h[s], h[i]
		i = s
	}
	o.pending = h
	return top
}

func (a item) before(b item) bool { return a.t < b.t || (a.t == b.t && a.seq < b.seq) }

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
