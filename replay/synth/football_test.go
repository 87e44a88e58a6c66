package synth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// smoke is the scenario catalog's smoke size.
var smoke = FootballOptions{Seed: 7, Matches: 2, Bettors: 200, Duration: 240 * time.Second}

func TestFootballIsDeterministic(t *testing.T) {
	write := func(o FootballOptions) []byte {
		t.Helper()
		c, err := Football(o)
		if err != nil {
			t.Fatalf("Football: %v", err)
		}
		var buf bytes.Buffer
		if err := replay.WriteCapture(&buf, c); err != nil {
			t.Fatalf("WriteCapture: %v", err)
		}
		return buf.Bytes()
	}
	a, b := write(smoke), write(smoke)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different captures")
	}
	other := smoke
	other.Seed = 8
	if bytes.Equal(a, write(other)) {
		t.Fatal("different seeds gave the same capture")
	}
	// What it writes, the strict reader reads.
	if _, err := replay.ReadCapture(bytes.NewReader(a)); err != nil {
		t.Fatalf("ReadCapture of a generated capture: %v", err)
	}
}

func TestFootballShape(t *testing.T) {
	c, err := Football(smoke)
	if err != nil {
		t.Fatalf("Football: %v", err)
	}
	h := c.Header
	if h.Capture != replay.CaptureVersion || h.Source != "synth" || h.Seed != 7 || h.DurationUS != 240_000_000 {
		t.Errorf("header = %+v", h)
	}

	type market struct {
		prices              map[string]string
		status              string
		opened, suspensions int
		result              []string
		lastOdds            int64
		maxGap              int64
	}
	markets := map[string]*market{}
	deposits := map[string]int64{}
	staked := map[string]int64{}
	ids := map[string]bool{}
	var bets int
	var prev int64
	for i, e := range c.Events {
		if err := e.Validate(); err != nil {
			t.Fatalf("event %d %+v: %v", i, e, err)
		}
		if e.T < prev || e.T >= h.DurationUS {
			t.Fatalf("event %d at %d: out of order or past the end", i, e.T)
		}
		prev = e.T
		if !e.Kind.IsFeed() {
			if ids[e.ID] {
				t.Fatalf("id %s used twice", e.ID)
			}
			ids[e.ID] = true
		}
		m := markets[e.Market]
		switch e.Kind {
		case replay.KindOdds:
			if m == nil {
				m = &market{}
				markets[e.Market] = m
			}
			if m.prices != nil {
				m.maxGap = max(m.maxGap, e.T-m.lastOdds)
			}
			m.prices, m.lastOdds = e.Prices, e.T
			checkBook(t, e)
		case replay.KindStatus:
			if e.Status == replay.StatusSuspended {
				m.suspensions++
			}
			if e.Status == replay.StatusOpen {
				m.opened++
			}
			m.status = e.Status
		case replay.KindResult:
			if m.status != replay.StatusClosed {
				t.Errorf("market %s resulted while %s", e.Market, m.status)
			}
			m.result = e.Winners
		case replay.KindDeposit:
			if deposits[e.Account] != 0 || staked[e.Account] != 0 {
				t.Errorf("account %s deposits twice or after betting", e.Account)
			}
			if want := "d-" + strings.TrimPrefix(e.Account, "a"); e.ID != want {
				t.Errorf("deposit id %s, want %s", e.ID, want)
			}
			deposits[e.Account] = e.Amount
		case replay.KindBet:
			bets++
			if m == nil || m.status != replay.StatusOpen {
				t.Fatalf("bet %s on market %s while it is not open", e.ID, e.Market)
			}
			if got := m.prices[e.Selection]; got != e.Odds {
				t.Errorf("bet %s at %s, but %s is priced %s", e.ID, e.Odds, e.Selection, got)
			}
			if e.Stake < 200 || e.Stake > 5000 {
				t.Errorf("bet %s stakes %d", e.ID, e.Stake)
			}
			staked[e.Account] += e.Stake
			if staked[e.Account] >= deposits[e.Account] {
				t.Errorf("account %s stakes %d of a %d deposit", e.Account, staked[e.Account], deposits[e.Account])
			}
		default:
			t.Errorf("unexpected kind %s", e.Kind)
		}
	}
	if len(markets) != 2 || len(deposits) != 200 {
		t.Errorf("%d markets and %d depositors; want 2 and 200", len(markets), len(deposits))
	}
	for id, m := range markets {
		if m.suspensions < 1 || m.suspensions > 3 || m.opened != m.suspensions+1 {
			t.Errorf("market %s: %d suspensions, opened %d times", id, m.suspensions, m.opened)
		}
		if len(m.result) != 1 {
			t.Errorf("market %s: result %v", id, m.result)
		}
		// Moves every 1-3 s, a little more across a goal's suspension.
		if m.maxGap > 3_000_000+int64(smoke.Duration.Microseconds())/20 {
			t.Errorf("market %s: odds quiet for %d µs", id, m.maxGap)
		}
	}
	// 1 to 3 bets a minute for 4 minutes, less a little at both ends.
	if perMin := float64(bets) / 200 / 4; perMin < 0.8 || perMin > 3 {
		t.Errorf("%.2f bets per bettor per minute", perMin)
	}
}

// checkBook checks an odds event is a match-odds book near 105%.
func checkBook(t *testing.T, e replay.Event) {
	t.Helper()
	if len(e.Prices) != 3 {
		t.Fatalf("odds %v: want home, draw and away", e.Prices)
	}
	var inv int64 // Σ 1/odds, in millionths
	for _, sel := range selections {
		p, ok := e.Prices[sel]
		if !ok || len(p) < 4 || p[len(p)-3] != '.' {
			t.Fatalf("odds %v: %s is not priced to 2 decimals", e.Prices, sel)
		}
		e4, err := replay.ParseOdds(p)
		if err != nil {
			t.Fatal(err)
		}
		inv += 10_000_000_000 / e4
	}
	if inv < 1_020_000 || inv > 1_080_000 {
		t.Errorf("odds %v: book at %.1f%%, want about 105%%", e.Prices, float64(inv)/10_000)
	}
}

func TestFootballOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		opts FootballOptions
		errs int
	}{
		{"smoke is fine", smoke, 0},
		{"no bettors is fine: a feed-only capture", FootballOptions{Matches: 1, Duration: time.Minute}, 0},
		{"no matches", FootballOptions{Bettors: 1, Duration: time.Minute}, 1},
		{"negative bettors", FootballOptions{Matches: 1, Bettors: -1, Duration: time.Minute}, 1},
		{"too short", FootballOptions{Matches: 1, Duration: time.Second}, 1},
		{"everything wrong: every problem at once", FootballOptions{Bettors: -1}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if errs := tc.opts.Validate(); len(errs) != tc.errs {
				t.Fatalf("Validate = %v, want %d errors", errs, tc.errs)
			}
			if _, err := Football(tc.opts); (err != nil) != (tc.errs > 0) {
				t.Fatalf("Football error = %v", err)
			}
		})
	}
}

func TestFootballShortestMatch(t *testing.T) {
	// The smallest duration still keeps suspensions apart and inside the match.
	for seed := range int64(50) {
		c, err := Football(FootballOptions{Seed: seed, Matches: 3, Bettors: 20, Duration: MinFootballDuration})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var buf bytes.Buffer
		if err := replay.WriteCapture(&buf, c); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		status := map[string]string{}
		for _, e := range c.Events {
			if e.Kind != replay.KindStatus {
				continue
			}
			if status[e.Market] == e.Status {
				t.Fatalf("seed %d: market %s is %s twice in a row at %d", seed, e.Market, e.Status, e.T)
			}
			status[e.Market] = e.Status
		}
	}
}
