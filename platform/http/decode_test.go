package http

import (
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

func FuzzDecodeBet(f *testing.F) {
	for _, s := range []string{
		`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":500}`,
		`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":0}`,
		`{"id":"b-1","odds":2.1}`,
		`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":500,"policy":"any"}`,
		`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":500,"policy":"EXACT"}`,
		`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.10","stake":500,"policy":""}`,
		`{"id":"b-1","extra":1}`,
		`null`,
		`{} {}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := decodeBet(strings.NewReader(body))
		if err != nil {
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		// Whatever decodes is a valid request, with a policy the
		// platform knows.
		if !req.Policy.Valid() {
			t.Fatalf("decoded an unknown policy %q", req.Policy)
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("decoded an invalid request %+v: %v", req, err)
		}
	})
}

func TestDecodeBetNamesEveryMissingField(t *testing.T) {
	_, err := decodeBet(strings.NewReader(`{"id":"b-1"}`))
	msg := platform.ErrorMessage(err)
	for _, f := range []string{"account", "market", "selection", "odds", "stake"} {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q does not name %s", msg, f)
		}
	}
}

func FuzzDecodeCashout(f *testing.F) {
	for _, s := range []string{
		`{"id":"c-1","amount":1500}`,
		`{"id":"c-1","amount":0}`,
		`{"id":"c-1","amount":-3}`,
		`{"id":"c-1","amount":1.5}`,
		`{"id":"c-1","amount":"1500"}`,
		`{"id":"c 1","amount":1}`,
		`{"id":"c-1"}`,
		`{"amount":1}`,
		`{"id":"c-1","amount":1,"bet":"b-1"}`,
		`{"id":"c-1","amount":99999999999999999999}`,
		`null`,
		`{} {}`,
	} {
		f.Add(s, "b-1")
	}
	f.Fuzz(func(t *testing.T, body, bet string) {
		req, err := decodeCashout(strings.NewReader(body), bet)
		if err != nil {
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		// Whatever decodes is a valid request for the bet of the path.
		if req.Bet != bet {
			t.Fatalf("decoded bet %q, the path said %q", req.Bet, bet)
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("decoded an invalid request %+v: %v", req, err)
		}
	})
}

func TestDecodeCashoutNamesTheField(t *testing.T) {
	for _, tt := range []struct{ body, bet, field string }{
		{`{}`, "b-1", "amount"},
		{`{"amount":5}`, "b-1", "id"},
		{`{"id":"c-1","amount":0}`, "b-1", "amount"},
		{`{"id":"c-1","amount":5}`, "b 1", "bet"},
	} {
		_, err := decodeCashout(strings.NewReader(tt.body), tt.bet)
		if msg := platform.ErrorMessage(err); platform.ErrorCode(err) != platform.EINVALID || !strings.Contains(msg, tt.field) {
			t.Errorf("%s (bet %q): %v, want EINVALID naming %s", tt.body, tt.bet, err, tt.field)
		}
	}
}
