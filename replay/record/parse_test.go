package record

import (
	"reflect"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// knownBets knows one bet, b-1 of account a1.
func knownBets(bet string) (string, bool) { return "a1", bet == "b-1" }

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		body         string
		want         replay.Event
		wantRecorded bool
		wantErr      string // "" = no error
	}{
		// Happy: each bettor route, with its ids where the API takes them.
		{"bet", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":500}`,
			replay.Event{Kind: replay.KindBet, ID: "b-1", Account: "a1", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500}, true, ""},
		{"deposit, account from the path", "POST", "/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`,
			replay.Event{Kind: replay.KindDeposit, ID: "d-1", Account: "a1", Amount: 10000}, true, ""},
		{"withdrawal", "POST", "/v1/accounts/a1/withdrawals", `{"id":"w-1","amount":500}`,
			replay.Event{Kind: replay.KindWithdraw, ID: "w-1", Account: "a1", Amount: 500}, true, ""},
		{"cashout, bet from the path", "POST", "/v1/bets/b-1/cashout", `{"id":"c-1","amount":700}`,
			replay.Event{Kind: replay.KindCashout, ID: "c-1", Bet: "b-1", Account: "a1", Amount: 700}, true, ""},
		// A cash-out of a bet placed before the recording: no account to give it.
		{"cashout of an unknown bet", "POST", "/v1/bets/b-0/cashout", `{"id":"c-0","amount":700}`, replay.Event{}, true, "has not seen"},
		// An escaped "/" stays in its one segment, unescaped, as the API reads it.
		{"escaped account", "POST", "/v1/accounts/team%2Fa/deposits", `{"id":"d","amount":1}`,
			replay.Event{Kind: replay.KindDeposit, ID: "d", Account: "team/a", Amount: 1}, true, ""},
		// What the bettor sent, even a price the platform will refuse.
		{"bet at any valid odds", "POST", "/v1/bets", `{"id":"b","account":"a","market":"m","selection":"s","odds":"1000","stake":1}`,
			replay.Event{Kind: replay.KindBet, ID: "b", Account: "a", Market: "m", Selection: "s", Odds: "1000", Stake: 1}, true, ""},

		// Not recorded: other methods and routes pass through unparsed.
		{"GET a bet", "GET", "/v1/bets/b-1", "", replay.Event{}, false, ""},
		{"GET account", "GET", "/v1/accounts/a1", "", replay.Event{}, false, ""},
		{"PUT bets", "PUT", "/v1/bets", `{}`, replay.Event{}, false, ""},
		{"trailing slash", "POST", "/v1/bets/", `{}`, replay.Event{}, false, ""},
		{"metrics", "POST", "/metrics", `{}`, replay.Event{}, false, ""},
		{"empty account segment", "POST", "/v1/accounts//deposits", `{}`, replay.Event{}, false, ""},

		// Sad: recorded routes with bodies that cannot be an event.
		{"not JSON", "POST", "/v1/bets", `{"id":`, replay.Event{}, true, "body is not valid"},
		{"empty body", "POST", "/v1/bets", ``, replay.Event{}, true, "body is empty"},
		{"two values", "POST", "/v1/accounts/a/deposits", `{"id":"d","amount":1}{}`, replay.Event{}, true, "exactly one JSON value"},
		{"unknown field", "POST", "/v1/accounts/a/deposits", `{"id":"d","amount":1,"currency":"EUR"}`, replay.Event{}, true, "unknown field"},
		{"missing fields", "POST", "/v1/bets", `{"id":"b","account":"a"}`, replay.Event{}, true, "body lacks market, selection, odds, stake"},
		{"bad odds", "POST", "/v1/bets", `{"id":"b","account":"a","market":"m","selection":"s","odds":"2.123456","stake":1}`, replay.Event{}, true, "odds"},
		{"zero amount", "POST", "/v1/accounts/a/deposits", `{"id":"d","amount":0}`, replay.Event{}, true, "positive amount"},
		{"negative stake", "POST", "/v1/bets", `{"id":"b","account":"a","market":"m","selection":"s","odds":"2","stake":-5}`, replay.Event{}, true, "not positive"},
		{"empty id", "POST", "/v1/accounts/a/withdrawals", `{"id":"","amount":3}`, replay.Event{}, true, "lacks id"},
		{"string amount", "POST", "/v1/bets/b-1/cashout", `{"id":"c","amount":"5"}`, replay.Event{}, true, "body is not valid"},
		{"bad escape", "POST", "/v1/accounts/%zz/deposits", `{"id":"d","amount":1}`, replay.Event{}, true, "path"},
		{"too big", "POST", "/v1/bets", `{"id":"` + strings.Repeat("x", MaxBody) + `"}`, replay.Event{}, true, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, recorded, err := ParseRequest(tt.method, tt.path, []byte(tt.body), knownBets)
			if recorded != tt.wantRecorded {
				t.Fatalf("recorded = %v, want %v", recorded, tt.wantRecorded)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFeedMessage(t *testing.T) {
	yes := true
	delay := int64(5000)
	tests := []struct {
		name    string
		msg     string
		want    FeedMessage
		wantErr string
	}{
		// The ts is the vendor's time when the message has no vendor_ms.
		{"odds", `{"seq":41,"producer":"replay","ts":"2026-11-29T09:00:00.123456Z","type":"odds","market":"m1","prices":{"home":"2.10"}}`,
			FeedMessage{Seq: 41, Producer: "replay", Type: "odds", Event: &replay.Event{Kind: replay.KindOdds, Market: "m1",
				Prices: map[string]string{"home": "2.10"}, Producer: "replay", VendorMS: 1795942800123}}, ""},
		// The capture's optional status fields, under their names; vendor_ms wins over ts.
		{"status with in-play fields", `{"seq":2,"producer":"live","ts":"2026-11-29T09:00:00Z","vendor_ms":1000,"type":"status","market":"m1","status":"suspended","in_play":true,"bet_delay_ms":5000,"removed":["x"],"adjust":{"x":"12.5"},"prices":{"a":"2"}}`,
			FeedMessage{Seq: 2, Producer: "live", Type: "status", Event: &replay.Event{Kind: replay.KindStatus, Market: "m1",
				Status: "suspended", InPlay: &yes, BetDelayMS: &delay, Removed: []string{"x"}, Adjust: map[string]string{"x": "12.5"},
				Producer: "live", VendorMS: 1000}}, ""},
		{"void result", `{"seq":3,"type":"result","market":"m1","winners":[]}`,
			FeedMessage{Seq: 3, Type: "result", Event: &replay.Event{Kind: replay.KindResult, Market: "m1"}}, ""},
		{"result", `{"seq":3,"type":"result","market":"m1","winners":["home"]}`,
			FeedMessage{Seq: 3, Type: "result", Event: &replay.Event{Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}}}, ""},
		{"incident", `{"seq":4,"type":"incident","market":"m1","incident":"goal","extra":1}`,
			FeedMessage{Seq: 4, Type: "incident", Event: &replay.Event{Kind: replay.KindIncident, Market: "m1", Incident: "goal"}}, ""},
		// Not events: no Event, no error.
		{"heartbeat", `{"seq":9,"producer":"replay","ts":"2026-11-29T09:00:00Z","type":"heartbeat"}`,
			FeedMessage{Seq: 9, Producer: "replay", Type: "heartbeat"}, ""},
		{"newer type", `{"seq":9,"type":"score"}`, FeedMessage{Seq: 9, Type: "score"}, ""},

		{"not JSON", `{"seq":1,"ty`, FeedMessage{}, "feed message"},
		{"no seq", `{"type":"odds"}`, FeedMessage{}, "no seq"},
		{"negative seq", `{"seq":-1,"type":"odds"}`, FeedMessage{}, "negative"},
		{"odds without prices", `{"seq":1,"type":"odds","market":"m"}`, FeedMessage{}, "lacks prices"},
		{"bad status", `{"seq":1,"type":"status","market":"m","status":"paused"}`, FeedMessage{}, "unknown status"},
		{"no market", `{"seq":1,"type":"incident","incident":"goal"}`, FeedMessage{}, "lacks market"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFeedMessage([]byte(tt.msg))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v (event %+v)\nwant %+v (event %+v)", got, got.Event, tt.want, tt.want.Event)
			}
		})
	}
}

// FuzzParseRequest: any method, path and body either is not recorded, is
// refused with an error, or gives an event that a capture holds.
func FuzzParseRequest(f *testing.F) {
	f.Add("POST", "/v1/bets", []byte(`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":500}`))
	f.Add("POST", "/v1/accounts/a%2F1/deposits", []byte(`{"id":"d-1","amount":10000}`))
	f.Add("POST", "/v1/accounts/a1/withdrawals", []byte(`{"id":"w","amount":-1}`))
	f.Add("POST", "/v1/bets/b-1/cashout", []byte(`{"id":"c","amount":1e3}`))
	f.Add("POST", "/v1/bets/b-1/cashout", []byte(`{"id":"c","amount":1000}`))
	f.Add("GET", "/v1/bets/x", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		ev, recorded, err := ParseRequest(method, path, body, knownBets)
		if !recorded {
			if err != nil || !reflect.DeepEqual(ev, replay.Event{}) {
				t.Fatalf("not recorded, yet gave %+v, %v", ev, err)
			}
			return
		}
		if err != nil {
			return
		}
		if verr := ev.Validate(); verr != nil {
			t.Fatalf("event %+v is not valid: %v", ev, verr)
		}
		if ev.Kind.IsFeed() {
			t.Fatalf("a request became a feed event: %+v", ev)
		}
	})
}

// FuzzParseFeedMessage: any bytes give an error or a message whose event,
// if any, a capture holds.
func FuzzParseFeedMessage(f *testing.F) {
	f.Add([]byte(`{"seq":41,"producer":"replay","ts":"2026-11-29T09:00:00.123456Z","type":"odds","market":"m1","prices":{"home":"2.10"}}`))
	f.Add([]byte(`{"seq":2,"type":"status","market":"m","status":"open","in_play":true,"bet_delay_ms":-1}`))
	f.Add([]byte(`{"seq":3,"type":"result","market":"m","winners":["a","a"]}`))
	f.Add([]byte(`{"seq":4,"type":"heartbeat"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseFeedMessage(b)
		if err != nil || m.Event == nil {
			return
		}
		if verr := m.Event.Validate(); verr != nil {
			t.Fatalf("event %+v is not valid: %v", *m.Event, verr)
		}
		if !m.Event.Kind.IsFeed() || string(m.Event.Kind) != m.Type || m.Seq < 0 {
			t.Fatalf("message %+v carries event %+v", m, *m.Event)
		}
	})
}
