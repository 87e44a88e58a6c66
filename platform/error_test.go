package platform_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		// No error, no code.
		{"nil", nil, "", ""},
		// A platform error shows its code and message.
		{"platform", platform.Errorf(platform.EFUNDS, "short by %d", 5), platform.EFUNDS, "short by 5"},
		// Wrapping keeps the code.
		{"wrapped", fmt.Errorf("placing: %w", platform.Errorf(platform.ELIMIT, "too big")), platform.ELIMIT, "too big"},
		// Anything else is internal, and its text stays out of the message.
		{"other", errors.New("connection refused"), platform.EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := platform.ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := platform.ErrorMessage(tt.err); got != tt.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestBetRequestValidate(t *testing.T) {
	ok := platform.BetRequest{ID: "b-1", Account: "a1", Market: "m1", Selection: "home", Stake: 500, Odds: 21000}
	tests := []struct {
		name   string
		modify func(*platform.BetRequest)
		valid  bool
	}{
		// A complete request.
		{"ok", func(*platform.BetRequest) {}, true},
		// Each id is required.
		{"no id", func(r *platform.BetRequest) { r.ID = "" }, false},
		{"no account", func(r *platform.BetRequest) { r.Account = "" }, false},
		{"no market", func(r *platform.BetRequest) { r.Market = "" }, false},
		{"no selection", func(r *platform.BetRequest) { r.Selection = "" }, false},
		// Ids are single printable tokens.
		{"space in id", func(r *platform.BetRequest) { r.ID = "b 1" }, false},
		// Stakes are positive and bounded.
		{"zero stake", func(r *platform.BetRequest) { r.Stake = 0 }, false},
		{"negative stake", func(r *platform.BetRequest) { r.Stake = -1 }, false},
		{"huge stake", func(r *platform.BetRequest) { r.Stake = platform.MaxStake + 1 }, false},
		// Odds are required and in range.
		{"no odds", func(r *platform.BetRequest) { r.Odds = 0 }, false},
		{"odds too low", func(r *platform.BetRequest) { r.Odds = 10000 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.modify(&r)
			err := r.Validate()
			if (err == nil) != tt.valid {
				t.Fatalf("Validate() = %v, want valid=%v", err, tt.valid)
			}
			if err != nil && platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("Validate() code = %q", platform.ErrorCode(err))
			}
		})
	}
	// Every problem is named at once.
	err := platform.BetRequest{}.Validate()
	if msg := platform.ErrorMessage(err); len(msg) < 60 {
		t.Fatalf("an empty request reports only %q", msg)
	}
}
