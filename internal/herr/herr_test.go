package herr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The table is DESIGN.md's, in exit-code order, one row per code.
func TestTable(t *testing.T) {
	var exits []int
	codes := map[Code]bool{}
	for _, r := range Table() {
		exits = append(exits, r.Exit)
		if codes[r.Code] {
			t.Errorf("code %q twice", r.Code)
		}
		codes[r.Code] = true
		if r.Code.Exit() != r.Exit {
			t.Errorf("%q.Exit() = %d, want %d", r.Code, r.Code.Exit(), r.Exit)
		}
		if c, ok := CodeOfExit(r.Exit); !ok || c != r.Code {
			t.Errorf("CodeOfExit(%d) = %q, %v", r.Exit, c, ok)
		}
	}
	if want := []int{0, 1, 2, 3, 4, 5, 130}; !slices.Equal(exits, want) {
		t.Errorf("exits %v, want %v", exits, want)
	}
	if Code("EBOGUS").Exit() != ExitEnv {
		t.Error("an unknown code must reach no verdict (4)")
	}
	for _, line := range strings.Split(Help(), "\n") {
		if len(line) > 79 {
			t.Errorf("help line of %d columns: %q", len(line), line)
		}
	}
}

func TestCodeOf(t *testing.T) {
	cause := errors.New("connection refused")
	in := Inputf("scenario.yaml", "line %d: bad", 3)
	tests := []struct {
		name string
		err  error
		code Code
		exit int
	}{
		{"nil", nil, OK, 0},
		{"input", in, EINPUT, 3},
		{"wrapped input", fmt.Errorf("loading: %w", in), EINPUT, 3},
		{"env", Envf("redis: %w", cause), EENV, 4},
		{"a plain error reaches no verdict", cause, EENV, 4},
		{"verdict", Verdict(ExitReconcile), ERECONCILE, 2},
		{"the outer code wins", WithExit(ExitEnv, in), EENV, 4},
		{"interrupted", WithExit(ExitInterrupted, cause), EINTERRUPTED, 130},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.code || ExitOf(tt.err) != tt.exit {
			t.Errorf("%s: CodeOf %q exit %d; want %q, %d", tt.name, got, ExitOf(tt.err), tt.code, tt.exit)
		}
	}
	if Verdict(ExitPass) != nil || WithExit(ExitPass, nil) != nil {
		t.Error("exit 0 is no error")
	}
	if !Silent(Verdict(ExitSLO)) || Silent(in) || Silent(WithExit(ExitSLO, cause)) {
		t.Error("only a bare verdict is silent")
	}
	if !errors.Is(Envf("redis: %w", cause), cause) {
		t.Error("the cause is lost")
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{Input("s.yaml", "line 1: x"), "s.yaml: 1 problem:\n  - line 1: x"},
		{Input("s.yaml", "a", "b"), "s.yaml: 2 problems:\n  - a\n  - b"},
		{Input("", "only this"), "only this"},
		{&Error{Code: EENV, Source: "redis", Err: errors.New("refused")}, "redis: refused"},
		{&Error{Code: ESLO}, "an SLO was breached"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	many := &Error{Code: EINPUT, Source: "capture", Omitted: 5}
	for i := range 30 {
		many.Problems = append(many.Problems, fmt.Sprintf("line %d: bad", i+1))
	}
	msg := many.Error()
	if !strings.HasPrefix(msg, "capture: 35 problems:") || strings.Count(msg, "\n  - ") != MaxListed || !strings.HasSuffix(msg, "and 15 more") {
		t.Errorf("message %q", msg)
	}
}
