// Package herr is the harness's one error, and its one exit-code table.
//
// Every error the harness returns for a person to act on is an *Error: a
// Code from a small closed set, the source at fault (a file, a flag, a
// service), and every problem found, one sentence each, so a user fixes
// them in one pass. Each Code has one exit code (DESIGN.md, "Exit codes"),
// and the CLI, report.json and the help text all read it from Table.
// Other error types in the harness (a capture line's, the stack's account of
// where it looked for services) are causes: an *Error carries them in Err.
//
// The platform, on the other side of the system-under-test seam, has its own
// (platform.Error); this is the harness's.
package herr

import (
	"errors"
	"fmt"
	"strings"
)

// Code is what went wrong, for programs: the exit code follows from it.
type Code string

// The codes. The first three and the last two are verdicts a finished run
// reaches; EINPUT and EENV mean there is no verdict at all.
const (
	OK           Code = ""             // no error: the run passed
	ESLO         Code = "ESLO"         // an SLO was breached
	ERECONCILE   Code = "ERECONCILE"   // reconciliation failed; wins over ESLO and EINVALID
	EINPUT       Code = "EINPUT"       // bad input: a scenario, capture, flag, feed file or ledger export
	EENV         Code = "EENV"         // the environment is unusable: no stack, a port taken, a service failing
	EINVALID     Code = "EINVALID"     // invalid measurement: the generator fell behind, a fault did not land
	EINTERRUPTED Code = "EINTERRUPTED" // a signal stopped the command
)

// The exit codes, one per Code.
const (
	ExitPass        = 0
	ExitSLO         = 1
	ExitReconcile   = 2
	ExitInput       = 3
	ExitEnv         = 4
	ExitInvalid     = 5
	ExitInterrupted = 130 // 128 + SIGINT, the shell's code for a Ctrl-C
)

// Row is one line of the exit-code table.
type Row struct {
	Exit    int
	Code    Code
	Meaning string
}

// table is the exit-code table, in exit-code order: DESIGN.md's.
var table = []Row{
	{ExitPass, OK, "pass"},
	{ExitSLO, ESLO, "an SLO was breached"},
	{ExitReconcile, ERECONCILE, "reconciliation failed (wins over 1 and 5)"},
	{ExitInput, EINPUT, "bad input: the scenario, capture, flags or a feed file"},
	{ExitEnv, EENV, "the environment is unusable: no stack, or a port is taken"},
	{ExitInvalid, EINVALID, "invalid measurement: the load generator fell behind its schedule or a fault did not land"},
	{ExitInterrupted, EINTERRUPTED, "interrupted (SIGINT or SIGTERM): faults healed, what was measured so far written"},
}

// Table returns the exit-code table, in exit-code order.
func Table() []Row { return append([]Row(nil), table...) }

// Exit returns c's exit code; an unknown code is EENV's, since no verdict
// was reached.
func (c Code) Exit() int {
	for _, r := range table {
		if r.Code == c {
			return r.Exit
		}
	}
	return ExitEnv
}

// CodeOfExit returns the Code of exit code n, and whether there is one.
func CodeOfExit(n int) (Code, bool) {
	for _, r := range table {
		if r.Exit == n {
			return r.Code, true
		}
	}
	return EENV, false
}

// Help is the table as one paragraph wrapped at 79 columns, for a
// command's help.
func Help() string {
	parts := make([]string, len(table))
	for i, r := range table {
		parts[i] = fmt.Sprintf("%d %s", r.Exit, r.Meaning)
	}
	var b strings.Builder
	col := 0
	for i, w := range strings.Fields("Exit codes: " + strings.Join(parts, "; ") + ".") {
		switch {
		case i == 0:
		case col+1+len(w) > 79:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// Limits on how many problems an Error lists in its message: enough to fix
// a file in one pass, not so many that a binary file floods the terminal.
const (
	MaxKept   = 1000 // problems a collector keeps (see Collect)
	MaxListed = 20   // problems Error() shows, then how many more
)

// Error is the harness's error.
type Error struct {
	Code     Code
	Source   string   // the file, flag or service at fault; "" when the problems say it
	Problems []string // every problem found, one sentence each, in input order
	Omitted  int      // problems found beyond those kept in Problems
	Err      error    // the cause, when there is one
}

// Error reads "SOURCE: N problems:" and the list (the first 20, then how
// many more), so a user sees at once how much there is to fix; the problem
// alone when there is one and no source; or the cause's message when there
// are no problems.
func (e *Error) Error() string {
	var b strings.Builder
	total := len(e.Problems) + e.Omitted
	switch {
	case total == 0 && e.Err != nil:
		if e.Source != "" {
			b.WriteString(e.Source + ": ")
		}
		b.WriteString(e.Err.Error())
	case total == 0:
		if e.Source != "" {
			b.WriteString(e.Source + ": ")
		}
		b.WriteString(e.meaning())
	case total == 1 && e.Source == "" && len(e.Problems) == 1:
		b.WriteString(e.Problems[0])
	default:
		if e.Source != "" {
			b.WriteString(e.Source + ": ")
		}
		fmt.Fprintf(&b, "%d problem", total)
		if total != 1 {
			b.WriteString("s")
		}
		b.WriteString(":")
		for i, p := range e.Problems {
			if i == MaxListed {
				break
			}
			b.WriteString("\n  - ")
			b.WriteString(p)
		}
		if total > MaxListed {
			fmt.Fprintf(&b, "\n  and %d more", total-MaxListed)
		}
	}
	return b.String()
}

func (e *Error) meaning() string {
	for _, r := range table {
		if r.Code == e.Code {
			return r.Meaning
		}
	}
	return string(e.Code)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Exit returns the error's exit code.
func (e *Error) Exit() int { return e.Code.Exit() }

// Input returns bad input at source: every problem, one sentence each.
func Input(source string, problems ...string) *Error {
	return &Error{Code: EINPUT, Source: source, Problems: problems}
}

// Inputf returns bad input at source with one formatted problem.
func Inputf(source, format string, args ...any) *Error {
	return Input(source, fmt.Sprintf(format, args...))
}

// Envf returns an unusable environment; %w in format keeps the cause.
func Envf(format string, args ...any) *Error {
	return &Error{Code: EENV, Err: fmt.Errorf(format, args...)}
}

// Wrap gives err the code c, keeping it as the cause; nil stays nil.
func Wrap(c Code, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: c, Err: err}
}

// Verdict is the bare error of a verdict's exit code n (1, 2, 5 or 130),
// with nothing to say beyond it: the report says why. 0 is nil.
func Verdict(n int) error {
	if n == ExitPass {
		return nil
	}
	c, _ := CodeOfExit(n)
	return &Error{Code: c}
}

// CodeOf returns err's Code: the outermost *Error's, OK for nil, and EENV
// for any other error (an unexpected failure reaches no verdict).
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EENV
}

// ExitOf returns err's exit code (see CodeOf).
func ExitOf(err error) int { return CodeOf(err).Exit() }

// Silent reports whether err says nothing beyond its exit code (Verdict's),
// so the CLI prints nothing for it.
func Silent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Err == nil && len(e.Problems) == 0 && e.Omitted == 0 && e.Source == ""
}

// WithExit gives err the code of exit code n (see Table), keeping err as
// the cause; a nil err gives Verdict(n).
func WithExit(n int, err error) error {
	if err == nil {
		return Verdict(n)
	}
	c, _ := CodeOfExit(n)
	return &Error{Code: c, Err: err}
}
