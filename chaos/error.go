package chaos

import (
	"errors"
	"fmt"
)

// Error codes of the chaos layer. The set is small and closed so that callers
// (the runner, the CLI) can map them to exit codes without parsing messages.
const (
	EINVALID     = "EINVALID"     // a fault or a link is malformed
	EUNSUPPORTED = "EUNSUPPORTED" // a fault that inplay knows of but does not implement yet
	ECONFLICT    = "ECONFLICT"    // a duplicate name, or faults that cannot overlap
	ENOTFOUND    = "ENOTFOUND"    // no link for a target
	EINTERNAL    = "EINTERNAL"    // toxiproxy or the network failed
)

// Error is an error of the chaos layer: a code and a sentence for a person.
type Error struct {
	Code    string
	Message string
}

// Error returns the message; the code is for programs.
func (e *Error) Error() string {
	return e.Message
}

// errorf builds an *Error with a formatted message.
func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is an *Error, else EINTERNAL, so
// that every error of this package can be classified.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
