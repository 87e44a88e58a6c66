package replay

import (
	"encoding/json"
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
	} {
		m := feedMessageFor(ev, 7, "p", time.Date(2026, 11, 29, 9, 0, 0, 123456789, time.UTC))
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
