package platform

import (
	"errors"
	"fmt"
)

// The error codes of the platform. The set is closed: every error the domain
// returns carries one of them, and the HTTP adapter maps each to a status in
// a single table.
const (
	EINVALID         = "EINVALID"         // malformed input, a missing field, a value out of range
	ENOTFOUND        = "ENOTFOUND"        // no such account, bet or market (or selection)
	ECONFLICT        = "ECONFLICT"        // an id reused with different content
	EPRICECHANGED    = "EPRICECHANGED"    // the current price is below the requested odds
	EMARKETSUSPENDED = "EMARKETSUSPENDED" // the market is not open for bets
	EFUNDS           = "EFUNDS"           // the balance does not cover the stake or withdrawal
	ELIMIT           = "ELIMIT"           // the stake is above the platform's limit
	EBETCLOSED       = "EBETCLOSED"       // the bet is no longer open: settled, void or cashed out
	EUNAVAILABLE     = "EUNAVAILABLE"     // a dependency (a store, the feed) is not ready; try again later
	EINTERNAL        = "EINTERNAL"        // anything else
)

// Codes lists every error code, in a stable order.
var Codes = []string{EINVALID, ENOTFOUND, ECONFLICT, EPRICECHANGED, EMARKETSUSPENDED, EFUNDS, ELIMIT, EBETCLOSED, EUNAVAILABLE, EINTERNAL}

// Error is the platform's one error type: a code from the closed set and a
// message meant for the caller. It deliberately carries no HTTP status; the
// HTTP adapter decides that.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("platform error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: "" for nil, the code of an *Error
// anywhere in its chain, and EINTERNAL for any other error.
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

// ErrorMessage returns the caller-facing message of err: "" for nil, the
// message of an *Error, and a generic text for any other error, whose
// details are for logs, not for callers.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
