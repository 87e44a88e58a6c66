package chaos

import "github.com/inplaylabs/inplay/internal/herr"

// The chaos layer's errors are the harness's (internal/herr). A fault or a
// link that is wrong (malformed, unsupported, a duplicate name, a target
// the run has not) is bad input, EINPUT; toxiproxy or the network failing
// is the environment, EENV. Which rule a fault broke is in its message: no
// caller acts on more, so the layer keeps no finer codes of its own.

// inputf is a fault or link that is wrong.
func inputf(format string, args ...any) *herr.Error {
	return herr.Inputf("", format, args...)
}

// envf is toxiproxy or the network failing.
func envf(format string, args ...any) *herr.Error {
	return herr.Envf(format, args...)
}
