package record

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/replay"
)

// The feed subscriber's bounds.
const (
	// FeedHeartbeatTimeout is how long the subscriber waits for any message
	// before it takes the connection for dead and resumes: the protocol
	// promises a heartbeat at least every second.
	FeedHeartbeatTimeout = 3 * time.Second
	feedDialTimeout      = 5 * time.Second
	feedMaxMessage       = 1 << 20
	feedBackoffMin       = 50 * time.Millisecond
	feedBackoffMax       = 2 * time.Second
)

type feedCounters struct {
	connects, messages, events, duplicates, gaps, unfilled, malformed, ignored atomic.Int64
}

func (c *feedCounters) summary() FeedSummary {
	return FeedSummary{Connects: c.connects.Load(), Messages: c.messages.Load(), Events: c.events.Load(),
		Duplicates: c.duplicates.Load(), Gaps: c.gaps.Load(), Unfilled: c.unfilled.Load(), Malformed: c.malformed.Load(), Ignored: c.ignored.Load()}
}

// streamURL is the WebSocket URL of the feed stream at base.
func streamURL(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("feed %q: want a feed server's URL, like http://127.0.0.1:9000", base)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("feed %q: the scheme must be http, https, ws or wss", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/feed/v1/stream"
	}
	return u, nil
}

// errGap ends a connection that skipped a seq, so that the subscriber
// resumes from the last seq it recorded and the server fills the gap.
var errGap = errors.New("a seq was skipped")

// RunFeed subscribes to the feed until ctx ends, recording every odds,
// status, result and incident message once, in seq order: it resumes with
// after= the last seq recorded when the connection drops, goes silent for
// FeedHeartbeatTimeout, or skips a seq, and skips a message whose seq it
// has recorded already; a gap the resume brings back again (the server
// no longer has those seqs, or starts its log later) is recorded around
// and counted. The first connection asks for after=0, so what the
// server has already published arrives first, stamped near t_us 0: the
// markets' state as recording starts. With several producers on one
// stream, seqs are tracked per producer and a resume starts after the
// lowest producer's last seq. It does nothing without Config.Feed.
func (r *Recorder) RunFeed(ctx context.Context) {
	if r.feedURL == nil {
		return
	}
	st := &feedState{last: map[string]int64{}, gapAt: map[string]int64{}}
	backoff := feedBackoffMin
	for ctx.Err() == nil {
		progressed, err := r.feedOnce(ctx, st)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errGap) {
			continue // the server has it: resume at once
		}
		r.log.Warn("feed connection ended; resuming", "url", r.feedURL.String(), "after", resumeAfter(st.last), "err", err)
		if progressed {
			backoff = feedBackoffMin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, feedBackoffMax)
	}
}

// resumeAfter is the seq a resume asks for.
func resumeAfter(last map[string]int64) int64 {
	first := true
	var after int64
	for _, seq := range last {
		if first || seq < after {
			after, first = seq, false
		}
	}
	return after
}

// feedState is what the subscriber knows across connections.
type feedState struct {
	last  map[string]int64 // producer -> the last seq recorded
	gapAt map[string]int64 // producer -> its last seq when it last resumed for a gap
}

// resumeFor reports whether a gap after prev should be filled by resuming:
// yes the first time; when the resume brought the same gap back, the
// server does not have the missing messages, and the subscriber goes on
// from the message it has (counted as Unfilled).
func (st *feedState) resumeFor(producer string, prev int64) bool {
	if at, ok := st.gapAt[producer]; ok && at == prev {
		delete(st.gapAt, producer)
		return false
	}
	st.gapAt[producer] = prev
	return true
}

// feedOnce reads one connection until it ends. progressed reports whether
// it recorded anything.
func (r *Recorder) feedOnce(ctx context.Context, st *feedState) (progressed bool, err error) {
	last := st.last
	u := *r.feedURL
	q := u.Query()
	q.Set("after", strconv.FormatInt(resumeAfter(last), 10))
	u.RawQuery = q.Encode()
	dctx, cancel := context.WithTimeout(ctx, feedDialTimeout)
	conn, _, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(feedMaxMessage)
	r.feed.connects.Add(1)
	for {
		rctx, cancel := context.WithTimeout(ctx, FeedHeartbeatTimeout)
		_, data, err := conn.Read(rctx)
		cancel()
		if err != nil {
			return progressed, err
		}
		s := r.j.begin() // stamped on arrival
		r.feed.messages.Add(1)
		m, err := ParseFeedMessage(data)
		if err != nil {
			r.j.resolve(s, replay.Event{}, false)
			r.feed.malformed.Add(1)
			r.log.Warn("feed message skipped", "err", err)
			continue
		}
		prev := last[m.Producer]
		switch {
		case m.Event == nil:
			r.j.resolve(s, replay.Event{}, false)
			if m.Type != "heartbeat" {
				r.feed.ignored.Add(1)
			}
			// A heartbeat carries the last seq sent: ahead of what was
			// recorded, it shows a message skipped.
			if m.Type == "heartbeat" && m.Seq > prev {
				if st.resumeFor(m.Producer, prev) {
					r.feed.gaps.Add(1)
					return progressed, errGap
				}
				r.feed.unfilled.Add(1)
				last[m.Producer] = m.Seq
			}
		case m.Seq <= prev:
			r.j.resolve(s, replay.Event{}, false)
			r.feed.duplicates.Add(1)
		case m.Seq > prev+1 && st.resumeFor(m.Producer, prev):
			r.j.resolve(s, replay.Event{}, false)
			r.feed.gaps.Add(1)
			return progressed, errGap
		default:
			if m.Seq > prev+1 {
				r.feed.unfilled.Add(1)
			}
			if r.j.resolve(s, *m.Event, true) {
				r.feed.events.Add(1)
				progressed = true
			}
			last[m.Producer] = m.Seq
		}
	}
}
