package bettors_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/bettors"
)

// feedStream is a synthetic feed made on the fly, so a test can overlay
// hours of it without holding it: one market per entry of markets, each
// pre-match until preUS, then (after a 2 s suspension) in play until endUS,
// an odds event every 2 s that moves one price one time in ten, and at
// each of goals an incident that suspends the market for 5 s and reopens
// it with home shortened by a third.
type feedStream struct {
	markets     []string
	preUS       int64
	endUS       int64
	goals       []int64
	t           int64
	queue       []replay.Event
	read        int // events returned
	closed      bool
	tick, price int
}

func newFeed(markets []string, preUS, endUS int64, goals ...int64) *feedStream {
	f := &feedStream{markets: markets, preUS: preUS, endUS: endUS, goals: goals}
	inPlay, delay := false, int64(0)
	for _, m := range markets {
		f.queue = append(f.queue,
			replay.Event{Kind: replay.KindOdds, Market: m, Prices: f.book()},
			replay.Event{Kind: replay.KindStatus, Market: m, Status: replay.StatusOpen, InPlay: &inPlay, BetDelayMS: &delay})
	}
	return f
}

func (f *feedStream) Header() replay.Header {
	return replay.Header{Capture: replay.CaptureVersion, Name: "feed", DurationUS: f.endUS + 10_000_000}
}

// book is the current book: home moves every tenth tick, by one step.
func (f *feedStream) book() map[string]string {
	home := 200 + 2*(f.price%5) // 2.00 to 2.08
	return map[string]string{"home": fmt.Sprintf("%d.%02d", home/100, home%100), "draw": "3.4", "away": "4"}
}

func (f *feedStream) Next() (replay.Event, error) {
	for len(f.queue) == 0 {
		if f.closed {
			return replay.Event{}, io.EOF
		}
		f.step()
	}
	e := f.queue[0]
	f.queue = f.queue[1:]
	f.read++
	return e, nil
}

// step queues the events of the next 2 s tick.
func (f *feedStream) step() {
	prev := f.t
	f.t += 2_000_000
	t := f.t
	add := func(e replay.Event) { f.queue = append(f.queue, e) }
	if prev < f.preUS && t >= f.preUS {
		inPlay, delay := true, int64(5000)
		for _, m := range f.markets {
			add(replay.Event{T: f.preUS, Kind: replay.KindStatus, Market: m, Status: replay.StatusSuspended})
		}
		for _, m := range f.markets {
			add(replay.Event{T: f.preUS + 2_000_000, Kind: replay.KindStatus, Market: m, Status: replay.StatusOpen, InPlay: &inPlay, BetDelayMS: &delay})
		}
		f.t = f.preUS + 2_000_000
		return
	}
	for len(f.goals) > 0 && f.goals[0] <= t {
		g := f.goals[0]
		f.goals = f.goals[1:]
		m := f.markets[0]
		add(replay.Event{T: g, Kind: replay.KindStatus, Market: m, Status: replay.StatusSuspended})
		add(replay.Event{T: g, Kind: replay.KindIncident, Market: m, Incident: "goal"})
		add(replay.Event{T: g + 5_000_000, Kind: replay.KindOdds, Market: m, Prices: map[string]string{"home": "1.4", "draw": "4.5", "away": "9"}})
		add(replay.Event{T: g + 5_000_000, Kind: replay.KindStatus, Market: m, Status: replay.StatusOpen})
		f.t = g + 6_000_000
		return
	}
	if t >= f.endUS {
		for _, m := range f.markets {
			add(replay.Event{T: f.endUS, Kind: replay.KindStatus, Market: m, Status: replay.StatusClosed})
		}
		for _, m := range f.markets {
			add(replay.Event{T: f.endUS + 1_000_000, Kind: replay.KindResult, Market: m, Winners: []string{"home"}})
		}
		f.closed = true
		return
	}
	f.tick++
	if f.tick%10 == 0 {
		f.price++
	}
	for _, m := range f.markets {
		add(replay.Event{T: t, Kind: replay.KindOdds, Market: m, Prices: f.book()})
	}
}

var cfg = bettors.Config{Seed: 1, Bettors: 300, Rate: 60, MaxStake: 20_000, Prefix: "ov-"}

// overlay collects Overlay(feed, c).
func overlay(t *testing.T, feed replay.Stream, c bettors.Config) *replay.Capture {
	t.Helper()
	s, err := bettors.Overlay(feed, c)
	if err != nil {
		t.Fatalf("Overlay: %v", err)
	}
	out, err := replay.Collect(s)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return out
}

func write(t *testing.T, c *replay.Capture) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := replay.NewCaptureWriter(&buf, c.Header)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Copy(c.Stream()); err != nil {
		t.Fatalf("the overlay's output does not write: %v", err)
	}
	return buf.Bytes()
}

func TestOverlayIsDeterministic(t *testing.T) {
	mk := func(c bettors.Config) []byte {
		return write(t, overlay(t, newFeed([]string{"m1", "m2"}, 300e6, 900e6, 600e6), c))
	}
	a, b := mk(cfg), mk(cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed and feed gave different bytes")
	}
	other := cfg
	other.Seed = 2
	if bytes.Equal(a, mk(other)) {
		t.Fatal("different seeds gave the same bytes")
	}
}

// TestOverlayKeepsTheFeed: the feed comes out unchanged and in its order,
// every event valid and in t_us order, with bettor events of every kind.
func TestOverlayKeepsTheFeed(t *testing.T) {
	src, err := replay.Collect(newFeed([]string{"m1", "m2"}, 300e6, 900e6, 600e6))
	if err != nil {
		t.Fatal(err)
	}
	out := overlay(t, src.Stream(), cfg)
	var feed []replay.Event
	kinds := map[replay.Kind]int{}
	for _, e := range out.Events {
		kinds[e.Kind]++
		if e.Kind.IsFeed() {
			feed = append(feed, e)
		}
	}
	if fmt.Sprint(feed) != fmt.Sprint(src.Events) {
		t.Fatal("the feed events changed")
	}
	if out.Header != src.Header {
		t.Errorf("header %+v, want %+v", out.Header, src.Header)
	}
	for _, k := range []replay.Kind{replay.KindDeposit, replay.KindBet, replay.KindCashout, replay.KindWithdraw} {
		if kinds[k] == 0 {
			t.Errorf("no %s events: %v", k, kinds)
		}
	}
	write(t, out) // valid and in order, or it fails
}

// book is what a checker knows of a market, from the feed.
type book struct {
	status  string
	inPlay  bool
	prices  map[string]string
	history []priceAt // home's price changes, for the reaction window
}

type priceAt struct {
	t      int64
	prices map[string]string
}

// TestOverlayRules checks the model's promises on every event: bets only
// on open markets at a price the market had within the reaction time,
// deposits first, never beyond the account's means, unique ids the
// platform takes, cash-outs of the bettor's own earlier bets.
func TestOverlayRules(t *testing.T) {
	out := overlay(t, newFeed([]string{"m1", "m2"}, 300e6, 900e6, 450e6, 700e6), cfg)
	books := map[string]*book{}
	money := map[string]int64{} // deposits - stakes - withdrawals
	bets := map[string]replay.Event{}
	ids := map[string]bool{}
	var policies = map[string]int{}
	for _, e := range out.Events {
		if e.Kind.IsFeed() {
			b := books[e.Market]
			if b == nil {
				b = &book{prices: map[string]string{}, inPlay: true}
				books[e.Market] = b
			}
			switch e.Kind {
			case replay.KindOdds:
				next := map[string]string{}
				for k, v := range b.prices {
					next[k] = v
				}
				for k, v := range e.Prices {
					next[k] = v
				}
				b.prices = next
				b.history = append(b.history, priceAt{e.T, next})
			case replay.KindStatus:
				b.status = e.Status
				if e.InPlay != nil {
					b.inPlay = *e.InPlay
				}
			}
			continue
		}
		if !strings.HasPrefix(e.Account, "ov-a") || !strings.HasPrefix(e.ID, "ov-") {
			t.Fatalf("%s %s of %s: not under the prefix", e.Kind, e.ID, e.Account)
		}
		if ids[e.ID] {
			t.Fatalf("id %s twice", e.ID)
		}
		ids[e.ID] = true
		for _, id := range []string{e.ID, e.Account, e.ID + "~h10"} {
			if err := platform.CheckID(id); err != nil {
				t.Fatalf("id %q: %v", id, err)
			}
		}
		switch e.Kind {
		case replay.KindDeposit:
			money[e.Account] += e.Amount
		case replay.KindWithdraw:
			money[e.Account] -= e.Amount
		case replay.KindBet:
			b := books[e.Market]
			if b == nil || b.status != replay.StatusOpen {
				t.Fatalf("bet %s at %d on market %s, which is not open", e.ID, e.T, e.Market)
			}
			if _, ok := b.prices[e.Selection]; !ok {
				t.Fatalf("bet %s on %s, which has no price", e.ID, e.Selection)
			}
			if !sawWithin(b.history, e.T, 2_000_000, e.Selection, e.Odds) {
				t.Fatalf("bet %s at %d asks %s for %s, a price the market did not have in the last 2 s", e.ID, e.T, e.Odds, e.Selection)
			}
			if e.Stake < 100 || e.Stake > cfg.MaxStake {
				t.Fatalf("bet %s stakes %d", e.ID, e.Stake)
			}
			if _, ok := money[e.Account]; !ok {
				t.Fatalf("bet %s before %s deposited", e.ID, e.Account)
			}
			money[e.Account] -= e.Stake
			bets[e.ID] = e
			policies[e.Policy]++
		case replay.KindCashout:
			bet, ok := bets[e.Bet]
			if !ok || bet.Account != e.Account {
				t.Fatalf("cash-out %s of bet %s, not an earlier bet of %s", e.ID, e.Bet, e.Account)
			}
			if !books[bet.Market].inPlay || books[bet.Market].status != replay.StatusOpen {
				t.Fatalf("cash-out %s on a market not open in play", e.ID)
			}
			if e.Amount < bet.Stake {
				t.Fatalf("cash-out %s of %d after a favourable move, on a stake of %d", e.ID, e.Amount, bet.Stake)
			}
			delete(bets, e.Bet) // cashed out once
		}
		if money[e.Account] < 0 {
			t.Fatalf("%s at %d leaves %s at %d", e.ID, e.T, e.Account, money[e.Account])
		}
	}
	if policies[replay.PolicyExact] == 0 || policies[replay.PolicyBetter] == 0 || policies[replay.PolicyAny] == 0 {
		t.Errorf("policies %v: want every one", policies)
	}
}

// sawWithin reports whether the market's price of sel was odds at some
// moment in [t-window, t].
func sawWithin(history []priceAt, t, window int64, sel, odds string) bool {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].prices[sel] == odds {
			return true
		}
		if history[i].t <= t-window {
			return false
		}
	}
	return false
}

// TestOverlayShape: pre-match is quieter than in play, a goal brings a
// burst several times the base rate, activity is heavy-tailed, and few
// bets ask for a price that has already moved.
func TestOverlayShape(t *testing.T) {
	const pre, end, goal = 1800e6, 3600e6, 2700e6
	c := cfg
	c.Bettors, c.PreMatch = 2000, 0.1
	out := overlay(t, newFeed([]string{"m1"}, pre, end, goal), c)
	count := func(from, to int64) int {
		n := 0
		for _, e := range out.Events {
			if e.Kind == replay.KindBet && e.T >= from && e.T < to {
				n++
			}
		}
		return n
	}
	perSec := func(from, to int64) float64 { return float64(count(from, to)) / (float64(to-from) / 1e6) }
	base := float64(c.Bettors) * c.Rate / 3600
	preRate, inRate, burst := perSec(60e6, pre), perSec(pre+120e6, goal), perSec(goal+5e6, goal+15e6)
	t.Logf("base %.1f/s: pre-match %.2f/s, in play %.2f/s, after the goal %.2f/s", base, preRate, inRate, burst)
	if r := preRate / inRate; r < 0.07 || r > 0.13 {
		t.Errorf("pre-match rate is %.3f of in play's, want about %v", r, c.PreMatch)
	}
	if inRate < 0.85*base || inRate > 1.15*base {
		t.Errorf("in-play rate %.2f/s, want about the base %.2f/s", inRate, base)
	}
	if burst < 3*inRate {
		t.Errorf("after the goal %.2f/s, want several times the in-play %.2f/s", burst, inRate)
	}
	if late := perSec(goal+120e6, goal+300e6); late > 1.2*inRate {
		t.Errorf("two minutes after the goal %.2f/s: the burst has not decayed", late)
	}

	// A few bettors place most bets.
	per := map[string]int{}
	total, stale := 0, 0
	prices := map[string]string{}
	for _, e := range out.Events {
		switch e.Kind {
		case replay.KindOdds:
			for k, v := range e.Prices {
				prices[k] = v
			}
		case replay.KindBet:
			per[e.Account]++
			total++
			if prices[e.Selection] != e.Odds {
				stale++
			}
		}
	}
	counts := make([]int, 0, len(per))
	for _, n := range per {
		counts = append(counts, n)
	}
	top := topShare(counts, c.Bettors/5)
	t.Logf("%d bets by %d bettors; the top 20%% placed %.0f%%; %.1f%% asked a moved price", total, len(per), 100*top, 100*float64(stale)/float64(total))
	if top < 0.55 {
		t.Errorf("the top 20%% of bettors placed %.0f%% of the bets; want most", 100*top)
	}
	if float64(stale)/float64(total) > 0.08 {
		t.Errorf("%d of %d bets ask a price that moved", stale, total)
	}
}

// topShare is the share of the total held by the n largest counts.
func topShare(counts []int, n int) float64 {
	total, top := 0, 0
	for _, c := range counts {
		total += c
	}
	for range n {
		best := -1
		for i, c := range counts {
			if best < 0 || c > counts[best] {
				best = i
			}
		}
		if best < 0 {
			break
		}
		top += counts[best]
		counts[best] = -1
	}
	return float64(top) / float64(total)
}

// TestOverlayStreams: a day of feed overlaid reads the source one event
// ahead of what it returns at most, and the events it holds planned stay
// few, whatever the length.
func TestOverlayStreams(t *testing.T) {
	feed := newFeed([]string{"m1", "m2", "m3"}, 6*3600e6, 24*3600e6)
	s, err := bettors.Overlay(feed, cfg)
	if err != nil {
		t.Fatal(err)
	}
	returned, bets := 0, 0
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind.IsFeed() {
			returned++
		} else if e.Kind == replay.KindBet {
			bets++
		}
		if ahead := feed.read - returned; ahead > 1 {
			t.Fatalf("the overlay read %d feed events ahead of what it returned", ahead)
		}
	}
	if bets < 1000 {
		t.Fatalf("%d bets in a day", bets)
	}
	if n := bettors.Pending(s); n > 1000 {
		t.Errorf("%d events planned at the end", n)
	}
	if max := bettors.MaxPending(s); max > 2*cfg.Bettors {
		t.Errorf("up to %d events planned at once for %d bettors", max, cfg.Bettors)
	}
}

func TestOverlayRefusesCollidingIDs(t *testing.T) {
	src := &replay.Capture{Header: replay.Header{Capture: replay.CaptureVersion}, Events: []replay.Event{
		{T: 0, Kind: replay.KindDeposit, Account: "x1", ID: "ov-d1", Amount: 100},
	}}
	s, err := bettors.Overlay(src.Stream(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replay.Collect(s); err == nil || !strings.Contains(err.Error(), `prefix "ov-"`) {
		t.Fatalf("Collect error = %v, want one naming the prefix", err)
	}
	// Under another prefix, the capture's own bettors are kept.
	other := cfg
	other.Prefix = "gen-"
	s, _ = bettors.Overlay(src.Stream(), other)
	if out, err := replay.Collect(s); err != nil || len(out.Events) != 1 {
		t.Fatalf("Collect = %+v, %v", out, err)
	}
}

func TestOverlayPassesSourceErrors(t *testing.T) {
	boom := errors.New("boom")
	s, err := bettors.Overlay(failing{boom}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); !errors.Is(err, boom) {
		t.Fatalf("Next error = %v, want boom", err)
	}
}

type failing struct{ err error }

func (f failing) Header() replay.Header       { return replay.Header{Capture: replay.CaptureVersion} }
func (f failing) Next() (replay.Event, error) { return replay.Event{}, f.err }

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*bettors.Config)
		want []string
	}{
		{"the test config is fine", func(*bettors.Config) {}, nil},
		{"an empty prefix is fine", func(c *bettors.Config) { c.Prefix = "" }, nil},
		{"a full policy mix", func(c *bettors.Config) { c.PolicyMix = bettors.PolicyMix{Exact: 100} }, nil},
		{"no bettors", func(c *bettors.Config) { c.Bettors = 0 }, []string{"bettors is 0"}},
		{"no rate", func(c *bettors.Config) { c.Rate = 0 }, []string{"rate is 0"}},
		{"no max stake", func(c *bettors.Config) { c.MaxStake = 0 }, []string{"max stake is 0"}},
		{"a mix that does not sum to 100", func(c *bettors.Config) { c.PolicyMix = bettors.PolicyMix{Exact: 50, Any: 10} },
			[]string{"must sum to 100"}},
		{"a negative share", func(c *bettors.Config) { c.PolicyMix = bettors.PolicyMix{Exact: 110, Any: -10} },
			[]string{"at least 0"}},
		{"a prefix with a space", func(c *bettors.Config) { c.Prefix = "o v" }, []string{"space"}},
		{"a long prefix", func(c *bettors.Config) { c.Prefix = strings.Repeat("x", 33) }, []string{"longer than 32"}},
		{"a pre-match rate above in play's", func(c *bettors.Config) { c.PreMatch = 2 }, []string{"pre-match rate is 2"}},
		{"everything at once", func(c *bettors.Config) { *c = bettors.Config{Prefix: " ", PreMatch: -1} },
			[]string{"bettors", "rate", "max stake", "prefix", "pre-match"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			errs := c.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("Validate = %v, want %d problems", errs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to say %q", i, errs[i], w)
				}
			}
			if _, err := bettors.Overlay(newFeed([]string{"m"}, 1e6, 2e6), c); (err != nil) != (len(tc.want) > 0) {
				t.Errorf("Overlay error = %v", err)
			}
		})
	}
}
