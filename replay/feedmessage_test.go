package replay

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"
)

func TestParseFeedMessage(t *testing.T) {
	happy := []struct {
		name string
		in   string
		want string // the type
	}{
		{"odds", `{"seq":41,"producer":"replay","ts":"2026-11-29T09:00:00.123456Z","type":"odds","market":"m1","prices":{"home":"2.10"}}`, FeedOdds},
		{"heartbeat before any message", `{"seq":0,"producer":"replay","ts":"x","type":"heartbeat"}`, FeedHeartbeat},
		{"unknown type: the caller skips it", `{"seq":3,"type":"scoreboard"}`, "scoreboard"},
		{"unknown field: ignored for forward compatibility", `{"seq":3,"type":"status","status":"open","extra":[1,2]}`, FeedStatus},
	}
	for _, tc := range happy {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseFeedMessage([]byte(tc.in))
			if err != nil || m.Type != tc.want {
				t.Fatalf("ParseFeedMessage = %+v, %v; want type %s", m, err, tc.want)
			}
		})
	}
	sad := []struct {
		name string
		in   string
	}{
		{"not JSON", `seq=1`},
		{"not an object", `[1,2]`},
		{"null", `null`},
		{"no seq", `{"type":"odds"}`},
		{"no type", `{"seq":1}`},
		{"empty type", `{"seq":1,"type":""}`},
		{"negative seq", `{"seq":-1,"type":"odds"}`},
		{"seq not a number", `{"seq":"1","type":"odds"}`},
	}
	for _, tc := range sad {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ParseFeedMessage([]byte(tc.in)); err == nil {
				t.Fatalf("ParseFeedMessage = %+v, want an error", m)
			}
		})
	}
}

func TestFeedMessageRoundTrip(t *testing.T) {
	// What the server encodes, a client parses back to the same message.
	for _, ev := range []Event{
		{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "2.10"}},
		{Kind: KindStatus, Market: "m1", Status: StatusSuspended},
		{Kind: KindResult, Market: "m1", Winners: []string{"draw"}},
		{Kind: KindResult, Market: "m1"},
		{Kind: KindStatus, Market: "m1", Status: StatusOpen, InPlay: new(true), BetDelayMS: new(int64(5000)),
			Removed: []string{"x"}, Adjust: map[string]string{"home": "40.5"}, Producer: "betfair", VendorMS: 1657018212979},
		{Kind: KindIncident, Market: "m1", Incident: "wicket", VendorMS: 1},
		{Kind: KindResult, Market: "m1", Winners: []string{"home", "draw"}, DeadHeat: map[string]string{"home": "0.5", "draw": "0.5"}, VoidFactor: "0.1"},
		{Kind: KindRollback, Market: "m1"},
	} {
		m := feedMessageFor(ev, 7, "p", 3, time.Date(2026, 11, 29, 9, 0, 0, 123456789, time.UTC), 2)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseFeedMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := json.Marshal(got)
		if string(b) != string(b2) {
			t.Errorf("round trip: %s became %s", b, b2)
		}
	}
}

func TestFeedServerProducers(t *testing.T) {
	// seq is the stream's, one per message; producer_seq counts each
	// producer's own messages, and the snapshot carries the definition.
	s := NewFeedServer("replay")
	defer s.Close()
	for _, ev := range []Event{
		{Kind: KindStatus, Market: "m1", Status: StatusOpen, InPlay: new(false), BetDelayMS: new(int64(0))},
		{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "2"}, Producer: "live"},
		{Kind: KindIncident, Market: "m1", Incident: "goal", Producer: "score"},
		{Kind: KindStatus, Market: "m1", Status: StatusSuspended, InPlay: new(true), Producer: "live"},
		{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "1.5"}},
	} {
		s.Publish(ev)
	}
	type got struct {
		producer string
		pseq     int64
	}
	var msgs []got
	s.mu.Lock()
	for _, b := range s.log {
		m, err := ParseFeedMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, got{m.Producer, m.ProducerSeq})
	}
	s.mu.Unlock()
	want := []got{{"replay", 1}, {"live", 1}, {"score", 1}, {"live", 2}, {"replay", 2}}
	if len(msgs) != len(want) {
		t.Fatalf("log has %d messages, want %d", len(msgs), len(want))
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("message %d: %+v, want %+v", i+1, msgs[i], want[i])
		}
	}
	snap := s.Snapshot()
	if snap.Producers["live"] != 2 || snap.Producers["score"] != 1 || snap.Producers["replay"] != 2 {
		t.Errorf("snapshot producers = %v", snap.Producers)
	}
	if len(snap.Markets) != 1 {
		t.Fatalf("snapshot markets = %+v (an incident is no market state)", snap.Markets)
	}
	m := snap.Markets[0]
	// in_play comes from the later status, bet_delay_ms from the earlier:
	// a status that omits a field leaves it as it was.
	if m.InPlay == nil || !*m.InPlay || m.BetDelayMS == nil || *m.BetDelayMS != 0 || m.Status != StatusSuspended || m.Prices["home"] != "1.5" {
		t.Errorf("snapshot market = %+v", m)
	}
}

func FuzzParseFeedMessage(f *testing.F) {
	f.Add([]byte(`{"seq":41,"producer":"replay","ts":"2026-11-29T09:00:00.123456Z","type":"odds","market":"m1","prices":{"home":"2.10"}}`))
	f.Add([]byte(`{"seq":43,"type":"result","market":"m1","winners":[]}`))
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`nonsense`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseFeedMessage(b)
		if err != nil {
			return
		}
		if m.Type == "" || m.Seq < 0 {
			t.Fatalf("accepted %q as %+v", b, m)
		}
	})
}

func TestFeedServerRollback(t *testing.T) {
	// A rollback counts the market's settlement generation, which the
	// later result carries; the snapshot keeps the result that stands,
	// with its factors, as a client that applied the stream has it.
	s := NewFeedServer("replay")
	defer s.Close()
	dh := map[string]string{"home": "0.5", "away": "0.5"}
	for _, ev := range []Event{
		{Kind: KindResult, Market: "m1", Winners: []string{"home"}},
		{Kind: KindResult, Market: "m1", Winners: []string{"away"}}, // a duplicate: the first stands
		{Kind: KindRollback, Market: "m1"},
		{Kind: KindRollback, Market: "m1"},
		{Kind: KindResult, Market: "m1", Winners: []string{"home", "away"}, DeadHeat: dh, VoidFactor: "0.25"},
		{Kind: KindRollback, Market: "m2"}, // never resulted: counted all the same
	} {
		s.Publish(ev)
	}
	var rollbacks []int64
	for _, b := range s.log {
		m, err := ParseFeedMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		rollbacks = append(rollbacks, m.Rollbacks)
	}
	if want := []int64{0, 0, 1, 2, 2, 1}; !slices.Equal(rollbacks, want) {
		t.Errorf("rollbacks on the stream = %v, want %v", rollbacks, want)
	}
	snap := s.Snapshot()
	m1, m2 := snap.Markets[0], snap.Markets[1]
	if !slices.Equal(m1.Winners, []string{"home", "away"}) || !maps.Equal(m1.DeadHeat, dh) || m1.VoidFactor != "0.25" || m1.Rollbacks != 2 {
		t.Errorf("snapshot m1 = %+v, want the resettlement at generation 2", m1)
	}
	if m2.Winners != nil || m2.Rollbacks != 1 {
		t.Errorf("snapshot m2 = %+v, want unresulted at generation 1", m2)
	}
}
