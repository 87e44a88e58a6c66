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
