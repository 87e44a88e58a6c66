package feed_test

import (
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/feed"
)

func TestDecodeMessage(t *testing.T) {
	happy := []struct {
		name string
		in   string
		want func(m feed.Message) bool
	}{
		// An odds update, prices sorted by selection.
		{"odds", `{"seq":41,"producer":"replay","ts":"2026-11-29T09:00:00.123456Z","type":"odds","market":"m1","prices":{"home":"2.10","away":"3.80"}}`,
			func(m feed.Message) bool {
				return m.Seq == 41 && m.Producer == "replay" && m.TS.Nanosecond() == 123456000 &&
					len(m.Prices) == 2 && m.Prices[0].ID == "away" && m.Prices[1].Odds == 21000
			}},
		// A status update.
		{"status", `{"seq":42,"type":"status","market":"m1","status":"suspended"}`,
			func(m feed.Message) bool { return m.Status == platform.MarketSuspended }},
		// A result with winners.
		{"result", `{"seq":43,"type":"result","market":"m1","winners":["home"]}`,
			func(m feed.Message) bool { return len(m.Winners) == 1 && m.Winners[0] == "home" }},
		// An empty winners list is a void, not a missing field.
		{"void", `{"seq":44,"type":"result","market":"m1","winners":[]}`,
			func(m feed.Message) bool { return m.Winners != nil && len(m.Winners) == 0 }},
		// Heartbeats carry the last seq sent, possibly 0.
		{"heartbeat", `{"seq":0,"type":"heartbeat"}`, func(m feed.Message) bool { return m.Type == feed.TypeHeartbeat }},
		// Unknown fields are ignored (forward compatibility).
		{"unknown field", `{"seq":1,"type":"status","market":"m1","status":"open","extra":{"x":1}}`,
			func(m feed.Message) bool { return m.Status == platform.MarketOpen }},
		// Unknown types are returned for the caller to ignore.
		{"unknown type", `{"seq":5,"type":"scoreboard","market":"m1"}`, func(m feed.Message) bool { return m.Type == "scoreboard" }},
		// A status with the market's definition, a producer seq and the vendor's time.
		{"definition", `{"seq":6,"producer":"betfair","producer_seq":4,"vendor_ms":1657018212979,"type":"status","market":"m1","status":"open",` +
			`"in_play":true,"bet_delay_ms":5000,"removed":["x"],"adjust":{"home":"40.5"}}`,
			func(m feed.Message) bool {
				return m.ProducerSeq == 4 && m.Vendor.UnixMilli() == 1657018212979 && m.InPlay != nil && *m.InPlay &&
					m.BetDelay != nil && *m.BetDelay == 5*time.Second && len(m.Removed) == 1 && m.Adjust["home"] == "40.5"
			}},
		// An incident: in sequence, nothing to apply.
		{"incident", `{"seq":7,"type":"incident","market":"m1","incident":"wicket"}`,
			func(m feed.Message) bool { return m.Type == feed.TypeIncident && m.Incident == "wicket" }},
		// A corrected result: a dead heat, a partial void, its generation.
		{"dead heat and void factor", `{"seq":8,"type":"result","market":"m1","winners":["home","away"],"dead_heat":{"home":"0.5","away":"0.5"},"void_factor":"0.25","rollbacks":1}`,
			func(m feed.Message) bool {
				r := m.Result()
				return r.DeadHeatOf("home") == 5000 && r.DeadHeatOf("away") == 5000 && r.DeadHeatOf("draw") == 10000 && r.VoidFactor == 2500 && r.Rollbacks == 1
			}},
		// A rollback names its number.
		{"rollback", `{"seq":9,"type":"rollback","market":"m1","rollbacks":2}`,
			func(m feed.Message) bool { return m.Type == feed.TypeRollback && m.Rollbacks == 2 }},
	}
	for _, tt := range happy {
		t.Run(tt.name, func(t *testing.T) {
			m, err := feed.DecodeMessage([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(m) {
				t.Fatalf("decoded %+v", m)
			}
		})
	}

	sad := []struct {
		name    string
		in      string
		wantSeq int64 // the seq the broken message still reveals
	}{
		// Not JSON at all.
		{"garbage", `not json`, 0},
		// Two values in one frame.
		{"two values", `{"seq":1,"type":"heartbeat"} {}`, 0},
		// seq is required.
		{"no seq", `{"type":"odds","market":"m1","prices":{"home":"2"}}`, 0},
		// type is required.
		{"no type", `{"seq":3}`, 3},
		// A price that is not exact decimal odds.
		{"bad odds", `{"seq":4,"type":"odds","market":"m1","prices":{"home":"2.123456"}}`, 4},
		// Odds must be strings, never floats.
		{"float odds", `{"seq":4,"type":"odds","market":"m1","prices":{"home":2.1}}`, 0},
		// An odds update with no prices.
		{"no prices", `{"seq":5,"type":"odds","market":"m1","prices":{}}`, 5},
		// A market is required.
		{"no market", `{"seq":6,"type":"status","status":"open"}`, 6},
		// Statuses are open, suspended or closed.
		{"bad status", `{"seq":7,"type":"status","market":"m1","status":"settled"}`, 7},
		// A result must say its winners.
		{"no winners", `{"seq":8,"type":"result","market":"m1"}`, 8},
		// Timestamps are RFC 3339.
		{"bad ts", `{"seq":9,"type":"heartbeat","ts":"yesterday"}`, 9},
		// A bet delay past a minute is not a bet delay.
		{"bad bet delay", `{"seq":10,"type":"status","market":"m1","status":"open","bet_delay_ms":3600000}`, 10},
		// An adjustment factor is a percentage.
		{"bad adjust", `{"seq":11,"type":"status","market":"m1","status":"open","adjust":{"home":"x"}}`, 11},
		// An incident says what happened.
		{"empty incident", `{"seq":12,"type":"incident","market":"m1"}`, 12},
		// Seqs are never negative.
		{"negative seq", `{"seq":-1,"type":"heartbeat"}`, 0},
		// A dead heat for a selection that did not win.
		{"dead heat of a loser", `{"seq":13,"type":"result","market":"m1","winners":["home"],"dead_heat":{"away":"0.5"}}`, 13},
		// Factors are decimals in (0, 1].
		{"bad dead heat", `{"seq":14,"type":"result","market":"m1","winners":["home"],"dead_heat":{"home":"1.5"}}`, 14},
		{"float void factor", `{"seq":15,"type":"result","market":"m1","winners":["home"],"void_factor":0.5}`, 0},
		{"zero void factor", `{"seq":16,"type":"result","market":"m1","winners":["home"],"void_factor":"0"}`, 16},
		// A void result refunds whole: a void factor on it is a contradiction.
		{"void factor on a void", `{"seq":17,"type":"result","market":"m1","winners":[],"void_factor":"0.5"}`, 17},
		{"negative generation", `{"seq":18,"type":"result","market":"m1","winners":["home"],"rollbacks":-1}`, 18},
		// A rollback counts itself, from 1.
		{"rollback without its number", `{"seq":19,"type":"rollback","market":"m1"}`, 19},
		{"rollback without market", `{"seq":20,"type":"rollback","rollbacks":1}`, 20},
	}
	for _, tt := range sad {
		t.Run(tt.name, func(t *testing.T) {
			m, err := feed.DecodeMessage([]byte(tt.in))
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("DecodeMessage = %+v, %v; want EINVALID", m, err)
			}
			if m.Seq != tt.wantSeq {
				t.Fatalf("seq = %d, want %d", m.Seq, tt.wantSeq)
			}
		})
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"seq":41,"producer":"replay","ts":"2026-11-29T09:00:00.123456Z","type":"odds","market":"m1","prices":{"home":"2.10"}}`,
		`{"seq":42,"type":"status","market":"m1","status":"suspended"}`,
		`{"seq":43,"type":"result","market":"m1","winners":[]}`,
		`{"seq":44,"type":"heartbeat"}`,
		`{"seq":45,"type":"result","market":"m1","winners":["a","b"],"dead_heat":{"a":"0.5"},"void_factor":"0.1","rollbacks":2}`,
		`{"seq":46,"type":"rollback","market":"m1","rollbacks":1}`,
		`{"seq":1e3,"type":"odds"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := feed.DecodeMessage(data)
		if err != nil {
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			if m.Seq < 0 {
				t.Fatalf("negative seq %d from a broken message", m.Seq)
			}
			return
		}
		if m.Type == "" || m.Seq < 0 {
			t.Fatalf("accepted %+v", m)
		}
		switch m.Type {
		case feed.TypeOdds:
			if m.Seq < 1 || len(m.Prices) == 0 {
				t.Fatalf("accepted odds %+v", m)
			}
			for _, p := range m.Prices {
				if !p.Odds.Valid() {
					t.Fatalf("accepted odds out of range: %+v", m)
				}
			}
		case feed.TypeResult:
			if m.Winners == nil {
				t.Fatalf("accepted a result without winners: %+v", m)
			}
		}
	})
}

func TestDecodeSnapshot(t *testing.T) {
	s, err := feed.DecodeSnapshot([]byte(`{"seq":43,"producer":"replay","markets":[
		{"market":"m1","status":"open","prices":{"home":"2.10","away":"3"},"winners":null},
		{"market":"m2","status":"closed","prices":{},"winners":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Seq != 43 || len(s.Markets) != 2 || s.Markets[0].Prices[1].Odds != 21000 ||
		s.Markets[0].Winners != nil || s.Markets[1].Winners == nil {
		t.Fatalf("decoded %+v", s)
	}
	sad := []struct {
		name string
		in   string
	}{
		// The seq the snapshot is consistent with is required.
		{"no seq", `{"markets":[]}`},
		// Every market needs an id.
		{"no market id", `{"seq":1,"markets":[{"status":"open"}]}`},
		// Prices must be valid odds.
		{"bad odds", `{"seq":1,"markets":[{"market":"m1","prices":{"home":"1"}}]}`},
		// Statuses must be known.
		{"bad status", `{"seq":1,"markets":[{"market":"m1","status":"paused"}]}`},
		// Not JSON.
		{"garbage", `{`},
		// Factors as a result message's.
		{"bad dead heat", `{"seq":1,"markets":[{"market":"m1","winners":["a"],"dead_heat":{"b":"0.5"}}]}`},
		{"factors without a result", `{"seq":1,"markets":[{"market":"m1","void_factor":"0.5"}]}`},
		{"negative generation", `{"seq":1,"markets":[{"market":"m1","rollbacks":-2}]}`},
	}
	for _, tt := range sad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := feed.DecodeSnapshot([]byte(tt.in)); platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("DecodeSnapshot = %v, want EINVALID", err)
			}
		})
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte(`{"seq":43,"producer":"replay","markets":[{"market":"m1","status":"open","prices":{"home":"2.10"},"winners":null}]}`))
	f.Add([]byte(`{"seq":0,"markets":[]}`))
	f.Add([]byte(`{"seq":1,"markets":[{"market":"m1","winners":["a"]}]}`))
	f.Add([]byte(`{"seq":1,"markets":[{"market":"m1","winners":["a","b"],"dead_heat":{"a":"0.5","b":"0.5"},"void_factor":"0.2","rollbacks":1},{"market":"m2","rollbacks":3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := feed.DecodeSnapshot(data)
		if err != nil {
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		if s.Seq < 0 {
			t.Fatalf("accepted seq %d", s.Seq)
		}
		for _, m := range s.Markets {
			for _, p := range m.Prices {
				if !p.Odds.Valid() {
					t.Fatalf("accepted odds out of range in %+v", m)
				}
			}
		}
	})
}
