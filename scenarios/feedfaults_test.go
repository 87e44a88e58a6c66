package scenarios

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/feed"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/pricing"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/replay"
)

// These tests prove that the reference platform is not fooled by the feed
// faults of the harness's feed server (docs/feed-protocol.md, "Feed
// faults"): the real feed client, pricing, Redis quote store, quote hub and
// bet API, against a real replay.FeedServer.

// faultRig is a reference platform following a feed server.
type faultRig struct {
	fs     *replay.FeedServer
	plat   *RefPlatform
	quotes *redis.QuoteStore
	sub    *pricing.Subscription // every quote the platform publishes, from the start
}

func newFaultRig(t *testing.T, staleAfter time.Duration) *faultRig {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	client, prefix := pgtest.NewRedis(t)
	fs := replay.NewFeedServer("replay")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fs}
	go srv.Serve(l)
	t.Cleanup(func() { fs.Close(); srv.Close() })
	plat, err := StartRefPlatform(context.Background(), RefPlatformConfig{
		PostgresURL: dbURL, RedisAddr: client.Options().Addr, RedisDB: client.Options().DB, KeyPrefix: prefix,
		FeedURL: "http://" + l.Addr().String(), QuoteStaleAfter: staleAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plat.Close() })
	sub, err := plat.hub.Subscribe(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	if status, body := refCall(t, "POST", plat.URL()+"/v1/accounts/a1/deposits", `{"id":"d-1","amount":1000000}`); status != 201 {
		t.Fatalf("deposit = %d %v", status, body)
	}
	return &faultRig{fs: fs, plat: plat, quotes: redis.NewQuoteStore(client, prefix), sub: sub}
}

// untilFeed polls cond (bounded: 20 s) until it holds.
func untilFeed(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
	}
}

// caughtUp waits until the platform has applied every seq published.
func (r *faultRig) caughtUp(t *testing.T) {
	t.Helper()
	want := r.fs.Seq()
	untilFeed(t, fmt.Sprintf("the platform applies seq %d", want), func() bool { return r.plat.FeedStats().LastSeq == want })
}

// feedPrice is the odds of the nth move, distinct for every n < 100, as the
// platform writes them (no trailing zero).
func feedPrice(n int) string { return fmt.Sprintf("2.%d1", n) }

func (r *faultRig) odds(n int) int64 {
	return r.fs.Publish(replay.Event{Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": feedPrice(n)}})
}

func (r *faultRig) status(st string) int64 {
	return r.fs.Publish(replay.Event{Kind: replay.KindStatus, Market: "m1", Status: st})
}

// quoted reads every quote of m1 published so far (after the platform
// caught up) and checks that the platform never went back: feed seqs only
// rise, and each quote carries the price its seq published. It returns the
// seqs quoted.
func (r *faultRig) quoted(t *testing.T, published map[int64]string) []int64 {
	t.Helper()
	var seqs []int64
	for {
		select {
		case q := <-r.sub.C():
			if q.Market != "m1" {
				continue
			}
			if n := len(seqs); n > 0 && q.Feed.Seq < seqs[n-1] {
				t.Fatalf("the quote went back from seq %d to %d", seqs[n-1], q.Feed.Seq)
			}
			if n := len(seqs); n > 0 && q.Feed.Seq == seqs[n-1] {
				continue // the same quote again (the feed went live or not)
			}
			if want, ok := published[q.Feed.Seq]; ok {
				if got := homeOdds(q); got != want {
					t.Fatalf("quote of seq %d at %s, want %s", q.Feed.Seq, got, want)
				}
			}
			seqs = append(seqs, q.Feed.Seq)
		case <-r.sub.Dropped():
			t.Fatal("the test's quote subscription was dropped")
		default:
			return seqs
		}
	}
}

// homeOdds is the quote's odds on home.
func homeOdds(q *pricing.Quote) string {
	for _, sel := range q.Selections {
		if sel.ID == "home" {
			return sel.Odds.String()
		}
	}
	return ""
}

// checkPrice checks that the Redis quote is the one of seq at odds, open,
// and that a bet asking those odds is accepted at exactly them: the price a
// bet is checked against is the highest seq's.
func (r *faultRig) checkPrice(t *testing.T, id string, seq int64, odds string) {
	t.Helper()
	p, err := r.quotes.Price(context.Background(), "m1")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Odds("home"); p.Seq != seq || got.String() != odds || p.Status != platform.MarketOpen {
		t.Fatalf("redis quote = seq %d, %s at %s; want seq %d, open at %s", p.Seq, p.Status, got, seq, odds)
	}
	status, bet := refCall(t, "POST", r.plat.URL()+"/v1/bets",
		fmt.Sprintf(`{"id":%q,"account":"a1","market":"m1","selection":"home","odds":%q,"stake":100}`, id, odds))
	if status != 201 || bet["odds"] != odds {
		t.Fatalf("bet at %s = %d %v; want 201 at exactly %s", odds, status, bet, odds)
	}
}

// TestFeedFaultsDiscarded: under duplicate, stale and reorder the platform
// never applies a message it should discard. The fault's stretch moves the
// price above and below where it ends, and suspends and reopens the market,
// so that any late message applied would show in the quote or the bet.
func TestFeedFaultsDiscarded(t *testing.T) {
	cases := []struct {
		name  string
		fault chaos.FeedFault
		label string
	}{
		// Every message twice.
		{"duplicate", chaos.FeedFault{Kind: "duplicate"}, "duplicated"},
		// After every message, the one ten before it: the suspension too,
		// after the market reopened.
		{"stale", chaos.FeedFault{Kind: "stale"}, "resent"},
		// Pairs swapped, a window no machine outlasts between publishes.
		{"reorder", chaos.FeedFault{Kind: "reorder", Window: time.Minute}, "reordered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newFaultRig(t, 0)
			published := map[int64]string{}
			for i := range 12 {
				published[r.odds(i)] = feedPrice(i)
			}
			r.caughtUp(t)
			end, err := r.fs.StartFault(context.Background(), tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			defer end()
			open, last := true, ""
			for i := range 24 {
				switch i {
				case 5:
					r.status(replay.StatusSuspended)
					open, last = false, ""
				case 9:
					r.status(replay.StatusOpen)
					open, last = true, ""
				default:
					// Up, then down past where it ends, then to the end.
					n := 20 + i
					if i > 15 {
						n = 60 - i
					}
					last = feedPrice(n)
					published[r.odds(n)] = last
				}
				if i%2 == 1 {
					// Paced by pairs (a reorder swaps pairs), so the
					// client meets each alteration live, not by catching
					// up after its first resume; and checked at each
					// pause, while copies and old messages still arrive.
					r.caughtUp(t)
					if open && last != "" {
						r.checkPrice(t, fmt.Sprintf("b-%s-%d", tc.name, i), r.fs.Seq(), last)
					}
				}
			}
			final := r.odds(50)
			published[final] = feedPrice(50)
			got := end() // a reorder may still hold the last
			r.caughtUp(t)
			if got.Altered[tc.label] == 0 {
				t.Fatalf("the fault altered nothing: %+v", got)
			}
			st := r.plat.FeedStats()
			t.Logf("altered %+v; feed stats %+v", got, st)
			switch tc.name {
			case "duplicate", "stale":
				// Every copy and old message arrived on the one stream,
				// after its seq: each was dropped. Wait until the last is
				// counted, so the check below comes after all of them.
				untilFeed(t, "every resent message counted as a duplicate", func() bool {
					return r.plat.FeedStats().Duplicates >= got.Altered[tc.label]
				})
			case "reorder":
				if st.Gaps == 0 || st.Resyncs == 0 {
					t.Errorf("a later seq first should be a gap and a resume: %+v", st)
				}
			}
			if st.Lost != 0 || st.Malformed != 0 {
				t.Errorf("feed stats %+v: want nothing lost or malformed", st)
			}
			seqs := r.quoted(t, published)
			if seqs[len(seqs)-1] != final {
				t.Fatalf("last quote of seq %d, want %d", seqs[len(seqs)-1], final)
			}
			r.checkPrice(t, "b-"+tc.name, final, feedPrice(50))
		})
	}
}

// TestFeedFaultsRecovered: under gap, malformed and burst no price goes
// missing: the platform quotes every seq, in order, and loses none.
func TestFeedFaultsRecovered(t *testing.T) {
	cases := []struct {
		name  string
		fault chaos.FeedFault
		check func(t *testing.T, st feed.Stats)
	}{
		{"gap", chaos.FeedFault{Kind: "gap", Every: 3}, func(t *testing.T, st feed.Stats) {
			if st.Gaps == 0 || st.Resyncs+st.Snapshots == 0 {
				t.Errorf("a skipped seq should be a gap and a recovery: %+v", st)
			}
		}},
		{"malformed", chaos.FeedFault{Kind: "malformed", Every: 3}, func(t *testing.T, st feed.Stats) {
			if st.Malformed == 0 || st.Resyncs+st.Snapshots == 0 {
				t.Errorf("a broken frame should be counted, and its seq recovered: %+v", st)
			}
		}},
		{"burst", chaos.FeedFault{Kind: "burst"}, func(t *testing.T, st feed.Stats) {
			if st.Gaps != 0 {
				t.Errorf("a burst is in order, no gap: %+v", st)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newFaultRig(t, 0)
			published := map[int64]string{}
			first := r.odds(0)
			published[first] = feedPrice(0)
			r.caughtUp(t)
			end, err := r.fs.StartFault(context.Background(), tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			defer end()
			for i := 1; i <= 20; i++ {
				published[r.odds(i)] = feedPrice(i)
				if tc.name != "burst" { // a burst holds everything until the end
					// Paced, so the client meets each alteration live; a
					// skipped last seq shows in the next heartbeat.
					r.caughtUp(t)
				}
			}
			got := end()
			if n := got.Altered[feedFaultLabel[tc.name]]; n == 0 {
				t.Fatalf("the fault altered nothing: %+v", got)
			}
			r.caughtUp(t)
			st := r.plat.FeedStats()
			t.Logf("altered %+v; feed stats %+v", got, st)
			if st.Lost != 0 {
				t.Errorf("feed stats %+v: %d seqs lost", st, st.Lost)
			}
			tc.check(t, st)
			seqs := r.quoted(t, published)
			for i, want := 0, first; want <= r.fs.Seq(); i, want = i+1, want+1 {
				if i >= len(seqs) || seqs[i] != want {
					t.Fatalf("quoted seqs %v: want every seq from %d to %d", seqs, first, r.fs.Seq())
				}
			}
			r.checkPrice(t, "b-"+tc.name, r.fs.Seq(), feedPrice(20))
		})
	}
}

var feedFaultLabel = map[string]string{"gap": "skipped", "malformed": "malformed", "burst": "held"}

// TestFeedFaultDropoutDelaysQuotes: a dropout longer than the quote stale
// threshold (and the client's heartbeat timeout) marks the quotes delayed;
// when the feed comes back they recover, and nothing is lost.
func TestFeedFaultDropoutDelaysQuotes(t *testing.T) {
	r := newFaultRig(t, time.Second)
	published := map[int64]string{}
	published[r.odds(0)] = feedPrice(0)
	r.caughtUp(t)
	end, err := r.fs.StartFault(context.Background(), chaos.FeedFault{Kind: "dropout"})
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	during := r.odds(1)
	published[during] = feedPrice(1)
	// The client gives up on the silence after its heartbeat timeout, and
	// the hub publishes every quote again, delayed.
	untilFeed(t, "the quote is delayed", func() bool {
		q, ok := r.plat.hub.Quote("m1")
		return ok && q.Delayed && !r.plat.FeedStats().Live
	})
	if st := r.plat.FeedStats(); st.LastSeq >= during || st.Timeouts == 0 {
		t.Fatalf("during the dropout: feed stats %+v", st)
	}
	if err := r.plat.Ready(context.Background()); err == nil {
		t.Error("the platform is ready with its feed silent")
	}
	if got := end(); got.Altered["dropped"] != 1 {
		t.Errorf("alterations %+v, want 1 dropped", got)
	}
	// What was published during the dropout arrives, but it is as old as
	// the dropout: still delayed until a fresh update.
	r.caughtUp(t)
	fresh := r.odds(2)
	published[fresh] = feedPrice(2)
	untilFeed(t, "a fresh quote, not delayed", func() bool {
		q, ok := r.plat.hub.Quote("m1")
		return ok && q.Feed.Seq == fresh && !q.Delayed
	})
	if st := r.plat.FeedStats(); st.Lost != 0 {
		t.Errorf("feed stats %+v: seqs lost", st)
	}
	r.quoted(t, published)
	r.checkPrice(t, "b-dropout", fresh, feedPrice(2))
}

// TestFeedFaultSkew: vendor timestamps shifted do not break staleness. A ts
// behind by more than the stale threshold makes the quote delayed (the
// platform cannot tell a slow clock from a slow feed); a ts ahead must not
// keep a quote looking fresh once it is old.
func TestFeedFaultSkew(t *testing.T) {
	t.Run("behind", func(t *testing.T) {
		r := newFaultRig(t, 10*time.Second)
		r.odds(0)
		r.caughtUp(t)
		end, err := r.fs.StartFault(context.Background(), chaos.FeedFault{Kind: "skew", Skew: -time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer end()
		skewed := r.odds(1)
		r.caughtUp(t)
		if q, _ := r.plat.hub.Quote("m1"); q.Feed.Seq != skewed || !q.Delayed {
			t.Errorf("a quote a minute behind: %+v, want delayed", q)
		}
		end()
		fresh := r.odds(2)
		r.caughtUp(t)
		if q, _ := r.plat.hub.Quote("m1"); q.Feed.Seq != fresh || q.Delayed {
			t.Errorf("after the skew: %+v, want not delayed", q)
		}
		r.checkPrice(t, "b-behind", fresh, feedPrice(2))
	})
	t.Run("ahead", func(t *testing.T) {
		const staleAfter = 500 * time.Millisecond
		r := newFaultRig(t, staleAfter)
		r.odds(0)
		r.caughtUp(t)
		end, err := r.fs.StartFault(context.Background(), chaos.FeedFault{Kind: "skew", Skew: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer end()
		skewed := r.odds(1)
		r.caughtUp(t)
		end()
		if q, _ := r.plat.hub.Quote("m1"); q.Feed.Seq != skewed || q.Delayed {
			t.Errorf("a quote just received: %+v, want not delayed", q)
		}
		// No more updates: the quote grows old, and a new subscriber must
		// see it delayed, not fresh for the hour the vendor's clock is ahead.
		untilFeed(t, "the quote is older than the stale threshold", func() bool {
			return r.plat.hub.Staleness() > staleAfter
		})
		sub, err := r.plat.hub.Subscribe([]string{"m1"})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if q := <-sub.C(); !q.Delayed {
			t.Errorf("an old quote from a vendor clock ahead: %+v, want delayed", q)
		}
	})
}
