package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"
)

// This file is the feed family: alterations of the stream the harness's
// feed server sends the platform (target "feed"), through the run's Feed
// control (control.go). The feed server counts what it altered; a feed
// fault landed when it altered at least one message the way its kind says.
//
// Target "feed" is also a link (platform → feed server): the toxics and down
// act on that link, the kinds of this family on the stream itself.

// groupFeed is the exclusion group of the feed kinds: the feed server
// alters its stream one way at a time.
const groupFeed = "feed"

// feedFault is what every feed kind shares: the alteration it asks the
// feed server for, and the kind of alteration that proves it.
type feedFault struct {
	fault  FeedFault
	expect string // the FeedAlterations.Altered key that proves it
}

// checkTarget: a feed kind acts on the feed, when the run's feed server can
// alter its stream.
func (k *feedFault) checkTarget(target string, r Reach) *herr.Error {
	if target != "feed" {
		return inputf("kind %s alters the feed stream: its target is feed, not %s", k.fault.Kind, target)
	}
	if !r.Feed {
		return inputf("kind %s needs a feed server that can alter its stream, and this run has none", k.fault.Kind)
	}
	return nil
}

// exclusionGroup: see groupFeed.
func (k *feedFault) exclusionGroup() string { return groupFeed }

// Inject starts the alteration; the heal ends it and reads the counts.
func (k *feedFault) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	ev := &Evidence{What: "feed stream " + k.fault.Kind, Expect: k.expect}
	inj := Injection{Evidence: ev}
	if env.Feed == nil {
		return inj, inputf("kind %s needs a feed server that can alter its stream, and this run has none", k.fault.Kind)
	}
	end, err := env.Feed.StartFault(ctx, k.fault)
	if err != nil {
		return inj, err
	}
	inj.Heal = func(context.Context) error {
		a := end()
		ev.Feed = &a
		return nil
	}
	inj.Landed = func() (bool, string) {
		if ev.Feed == nil || ev.Feed.Altered[k.expect] <= 0 {
			return false, fmt.Sprintf("no message was %s", k.expect)
		}
		return true, ""
	}
	return inj, nil
}

// readEvery reads the optional param every: one message in every is
// altered.
func (k *feedFault) readEvery(p *Params, def int64) {
	k.fault.Every = int(p.IntOr("every", def, 1, 1_000_000))
}

// String describes the fault, e.g. "duplicate 1 message in 10".
func (k *feedFault) String() string {
	s := k.fault.Kind
	if k.fault.Every > 1 {
		s += fmt.Sprintf(" 1 message in %d", k.fault.Every)
	} else if k.fault.Every == 1 {
		s += " every message"
	}
	if k.fault.Window > 0 {
		s += fmt.Sprintf(" within %s", k.fault.Window)
	}
	if k.fault.Skew != 0 {
		s += fmt.Sprintf(" by %s", k.fault.Skew)
	}
	return s
}

// newFeedFault starts a feed kind's configuration.
func newFeedFault(kind, expect string) feedFault {
	return feedFault{fault: FeedFault{Kind: kind}, expect: expect}
}

// positiveDuration reads a required or defaulted duration that must be
// above 0.
func positiveDuration(p *Params, key string, def time.Duration) time.Duration {
	known := len(p.problems)
	d := p.DurationOr(key, def, time.Millisecond)
	if d <= 0 && len(p.problems) == known {
		p.problem("param %s must be more than 0", key)
	}
	return d
}
