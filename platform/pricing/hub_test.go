package pricing_test

import (
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// clock is a settable clock for the hub.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func recv(t *testing.T, s *pricing.Subscription) *pricing.Quote {
	t.Helper()
	select {
	case q := <-s.C():
		return q
	default:
		t.Fatal("no quote queued")
		return nil
	}
}

func noQuote(t *testing.T, s *pricing.Subscription) {
	t.Helper()
	select {
	case q := <-s.C():
		t.Fatalf("unexpected quote %+v", q)
	default:
	}
}

func prices(q *pricing.Quote) string {
	out := ""
	for _, s := range q.Selections {
		out += s.ID + "=" + s.Odds.String() + " "
	}
	return out
}

func TestHubPublishesWholeQuotes(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	h := pricing.NewHub(pricing.HubConfig{StaleAfter: 10 * time.Second, Now: clk.Now})
	h.SetLive(true)
	all, err := h.Subscribe([]string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(seq int64) platform.FeedRef {
		return platform.FeedRef{Seq: seq, TS: clk.now, Producer: "replay"}
	}

	steps := []struct {
		name    string
		publish func()
		status  platform.MarketStatus
		prices  string
		seq     int64
	}{
		// A first quote opens the market.
		{"first odds", func() {
			h.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 21000}, {ID: "away", Odds: 34000}}, ref(1))
		}, platform.MarketOpen, "away=3.4 home=2.1 ", 1},
		// Later odds merge: away keeps its price, draw is added in order.
		{"merge", func() {
			h.PublishOdds("m1", []platform.Selection{{ID: "draw", Odds: 32000}, {ID: "home", Odds: 20500}}, ref(2))
		}, platform.MarketOpen, "away=3.4 draw=3.2 home=2.05 ", 2},
		// A status keeps the prices.
		{"suspend", func() { h.PublishStatus("m1", platform.MarketSuspended, ref(3)) }, platform.MarketSuspended, "away=3.4 draw=3.2 home=2.05 ", 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.publish()
			q := recv(t, all)
			if q.Market != "m1" || q.Status != st.status || prices(q) != st.prices || q.Feed.Seq != st.seq ||
				q.Feed.Producer != "replay" || q.Delayed {
				t.Fatalf("quote = %+v (%s), want %s %q seq %d", q, prices(q), st.status, st.prices, st.seq)
			}
		})
	}

	// A new subscriber sees the current state at once, and only its market.
	h.PublishOdds("m2", []platform.Selection{{ID: "x", Odds: 15000}}, ref(4))
	recv(t, all)
	one, err := h.Subscribe([]string{"m1"})
	if err != nil {
		t.Fatal(err)
	}
	if q := recv(t, one); q.Market != "m1" || q.Feed.Seq != 3 || q.Status != platform.MarketSuspended {
		t.Fatalf("current quote = %+v", q)
	}
	h.PublishOdds("m2", []platform.Selection{{ID: "x", Odds: 16000}}, ref(5))
	noQuote(t, one)
	recv(t, all)

	// Old news is delayed, as is everything while the feed is down; both
	// changes of the feed's state republish every market.
	clk.now = clk.now.Add(11 * time.Second)
	h.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 20000}}, platform.FeedRef{Seq: 6, TS: clk.now.Add(-11 * time.Second)})
	if q := recv(t, one); !q.Delayed {
		t.Fatalf("an 11 s old update is not delayed: %+v", q)
	}
	recv(t, all)
	h.SetLive(false)
	for _, want := range []string{"m1", "m2"} {
		if q := recv(t, all); q.Market != want || !q.Delayed {
			t.Fatalf("after the feed went down: %+v, want %s delayed", q, want)
		}
	}
	h.SetLive(false) // no change, nothing republished
	noQuote(t, all)
	h.PublishOdds("m2", []platform.Selection{{ID: "x", Odds: 17000}}, ref(7))
	recv(t, all)
	h.SetLive(true)
	recv(t, all) // m1: its update is still 11 s old
	if q := recv(t, all); q.Market != "m2" || q.Delayed || q.Feed.Seq != 7 {
		t.Fatalf("after the feed came back: %+v", q)
	}
	if st := h.Stats(); st.Markets != 2 || st.Subscribers != 2 || st.Published != 11 {
		t.Fatalf("stats = %+v", st)
	}
	// m1's update is 11 s old, but a suspended market offers no price.
	if got := h.Staleness(); got != 0 {
		t.Fatalf("staleness = %s, want 0 (m2 is fresh)", got)
	}
	h.PublishStatus("m1", platform.MarketOpen, platform.FeedRef{Seq: 8, TS: clk.now.Add(-11 * time.Second)})
	if got := h.Staleness(); got != 11*time.Second {
		t.Fatalf("staleness = %s, want 11s (m1)", got)
	}
}

func TestHubSubscribeRefusals(t *testing.T) {
	h := pricing.NewHub(pricing.HubConfig{})
	h.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 21000}}, platform.FeedRef{Seq: 1})
	tests := []struct {
		name    string
		markets []string
		code    string
	}{
		// A market nobody has quoted.
		{"unknown", []string{"m1", "m9"}, platform.ENOTFOUND},
		// Not a market id.
		{"malformed", []string{"m 1"}, platform.EINVALID},
		// Known markets, and everything, are fine.
		{"known", []string{"m1"}, ""},
		{"all", []string{"*"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := h.Subscribe(tt.markets)
			if code := platform.ErrorCode(err); code != tt.code {
				t.Fatalf("Subscribe = %v, want code %q", err, tt.code)
			}
			if s != nil {
				s.Close()
				s.Close() // idempotent
			}
		})
	}
	if st := h.Stats(); st.Subscribers != 0 {
		t.Fatalf("%d subscribers left", st.Subscribers)
	}
}

func TestHubDropsSlowSubscriber(t *testing.T) {
	h := pricing.NewHub(pricing.HubConfig{QueueLimit: 4})
	slow, _ := h.Subscribe(nil)
	fast, _ := h.Subscribe(nil)
	for i := range 10 {
		h.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: platform.Odds(20000 + i)}}, platform.FeedRef{Seq: int64(i + 1)})
		if q := recv(t, fast); q.Feed.Seq != int64(i+1) {
			t.Fatalf("fast subscriber got %+v", q)
		}
	}
	select {
	case <-slow.Dropped():
	default:
		t.Fatal("the slow subscriber was not dropped")
	}
	if n := len(slow.C()); n != 4 {
		t.Fatalf("%d quotes queued for the dropped subscriber, want the 4 before it fell behind", n)
	}
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// A hub seeded from the store (a platform started again) gives a new
// subscriber the seeded quote, and its first update after the seed merges
// into it: the pushed quote is whole, not just the update's selections.
func TestHubSeed(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	h := pricing.NewHub(pricing.HubConfig{StaleAfter: 10 * time.Second, Now: clk.Now})
	h.SetLive(true)
	h.Seed([]*platform.Price{{Market: "m1", Status: platform.MarketSuspended, Seq: 40, UpdatedAt: clk.now,
		Selections: []platform.Selection{{ID: "away", Odds: 34000}, {ID: "home", Odds: 21000}}}})
	sub, err := h.Subscribe([]string{"m1"})
	if err != nil {
		t.Fatal(err)
	}
	q := recv(t, sub)
	if q.Status != platform.MarketSuspended || q.Feed.Seq != 40 || len(q.Selections) != 2 {
		t.Fatalf("seeded quote %+v", q)
	}
	h.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 20000}}, platform.FeedRef{Seq: 41, TS: clk.now})
	q = recv(t, sub)
	if len(q.Selections) != 2 || q.Selections[1].Odds != 20000 || q.Selections[0].Odds != 34000 || q.Status != platform.MarketSuspended {
		t.Fatalf("update after the seed pushed %+v, want away 3.4 kept, home 2.0, still suspended", q)
	}
	// A second seed does not overwrite what the hub has.
	h.Seed([]*platform.Price{{Market: "m1", Status: platform.MarketOpen, Seq: 1}})
	sub2, _ := h.Subscribe([]string{"m1"})
	if q := recv(t, sub2); q.Feed.Seq != 41 {
		t.Fatalf("a later seed overwrote the hub's quote: %+v", q)
	}
}
