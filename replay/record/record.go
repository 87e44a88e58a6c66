// Package record records a capture from live traffic: a reverse proxy in
// front of a platform's bet API (the reference API's routes, docs/api.md)
// that writes the bettor requests it forwards as capture events, and a
// subscriber to a feed server of the reference feed protocol
// (docs/feed-protocol.md) that writes what the feed sends. Both go into one
// capture (format v1), in arrival order, on one clock: t_us is the time
// since the recorder started, and the header's start_ms is the wall time
// of t_us 0.
//
// What is recorded, and why:
//
//   - A request on a bettor route whose upstream answered, whatever the
//     answer: a bet the platform refused is still what the bettor sent, and
//     that is the traffic to replay. Its t_us is when it arrived.
//   - Not a body that cannot be a capture event (malformed JSON, a missing
//     or unknown field, bad odds, an amount that is not positive): it is
//     forwarded, counted as malformed, and not recorded. The reference API
//     refuses such a body with EINVALID.
//   - Not a request the upstream never answered (down, refused the
//     connection, reset it, or the client gave up first): the client gets
//     502 (EUPSTREAM) and nothing is recorded. The platform did not
//     receive it, or cannot be known to have, so it is not traffic the
//     platform saw; it is counted as unanswered.
//   - Not a cash-out of a bet placed before the recording started: its
//     body names no account, the capture's cash-out needs one, and the
//     recorder knows the accounts of the bets it has seen (the latest
//     half million at least). It is forwarded and counted as an orphan.
//   - Every other request (GET, the quote stream's WebSocket, /metrics)
//     is forwarded untouched and not recorded.
//
// The proxy forwards each request as it came: the same method, path,
// query, headers (hop-by-hop ones aside, as any proxy) and body, over
// kept-alive connections. It reads only a bettor route's body before
// forwarding it, and only up to MaxBody; every other body streams.
package record

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// Config configures a Recorder.
type Config struct {
	// Upstream is the base URL of the platform's bet API, such as
	// http://127.0.0.1:8080. Required.
	Upstream string
	// Feed is the base URL of a feed server (http, https, ws or wss; the
	// stream's path /feed/v1/stream is added when the URL has no path);
	// "" records no feed.
	Feed string
	// Name is the capture header's name.
	Name string
	// Transport carries the forwarded requests; nil = a keep-alive
	// transport that keeps up to 1024 idle connections to the upstream.
	Transport http.RoundTripper
	// Logger is told of upstream failures and feed reconnections; nil =
	// discard.
	Logger *slog.Logger
}

// Validate checks the config's URLs: the upstream's scheme is http or
// https, the feed's http, https, ws or wss.
func (c Config) Validate() error {
	_, _, err := c.urls()
	return err
}

func (c Config) urls() (up, feed *url.URL, err error) {
	up, err = url.Parse(c.Upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, nil, fmt.Errorf("upstream %q: want the bet API's base URL, like http://127.0.0.1:8080", c.Upstream)
	}
	if c.Feed != "" {
		if feed, err = streamURL(c.Feed); err != nil {
			return nil, nil, err
		}
	}
	return up, feed, nil
}

// Summary is what a recording held, and what it left out and why.
type Summary struct {
	Duration time.Duration         // from start to stop
	Events   int64                 // events written
	ByKind   map[replay.Kind]int64 // events written, by kind

	Requests   int64 // every request forwarded, recorded route or not
	Refused    int64 // recorded requests the upstream answered with 4xx or 5xx
	Malformed  int64 // bettor-route bodies that are not a capture event: forwarded, not recorded
	Unanswered int64 // bettor-route requests the upstream never answered (the client got 502): not recorded
	Orphans    int64 // cash-outs of bets placed before the recording (ErrUnknownBet): forwarded, not recorded
	Lost       int64 // arrivals still waiting for the upstream when the recorder stopped: not recorded

	Feed FeedSummary
}

// FeedSummary is what the feed subscriber saw.
type FeedSummary struct {
	Connects   int64 // connections made, the first included
	Messages   int64 // messages read, heartbeats included
	Events     int64 // odds, status, result and incident messages recorded
	Duplicates int64 // messages at or below a seq already recorded: skipped
	Gaps       int64 // a seq skipped: the subscriber resumed with after= to fill it
	Unfilled   int64 // gaps a resume brought back (the server lacks those seqs): recorded around
	Malformed  int64 // messages that are not valid: skipped
	Ignored    int64 // message types the recorder does not record (besides heartbeats)
}

// Recorder is the recording proxy (its ServeHTTP) and feed subscriber
// (RunFeed), writing into one capture.
type Recorder struct {
	cfg      Config
	upstream *url.URL
	feedURL  *url.URL
	proxy    *httputil.ReverseProxy
	log      *slog.Logger
	j        *journal
	start    time.Time
	zw       *gzip.Writer

	requests, refused, malformed, unanswered, orphans atomic.Int64
	bets                                              *betAccounts
	feed                                              feedCounters

	closeOnce sync.Once
	summary   Summary
	closeErr  error
}

// New starts a recording into w, writing the capture's header at once:
// source "recorded", start_ms now. When gz is true the capture is
// gzipped. Close it to write out the rest. It refuses a config whose URLs
// do not parse or use another scheme than http(s) (ws(s) for the feed).
func New(w io.Writer, gz bool, cfg Config) (*Recorder, error) {
	up, feed, err := cfg.urls()
	if err != nil {
		return nil, err
	}
	r := &Recorder{cfg: cfg, upstream: up, feedURL: feed, log: cfg.Logger, bets: newBetAccounts(betMemory)}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	tr := cfg.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 0 // no overall cap
		t.MaxIdleConnsPerHost = 1024
		t.IdleConnTimeout = 90 * time.Second
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		// Forward Accept-Encoding as the client sent it, not gzip of our own.
		t.DisableCompression = true
		tr = t
	}
	r.proxy = &httputil.ReverseProxy{
		Rewrite:        r.rewrite,
		Transport:      tr,
		ModifyResponse: r.answered,
		ErrorHandler:   r.upstreamFailed,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}

	r.start = time.Now()
	h := replay.Header{Capture: replay.CaptureVersion, Name: cfg.Name, Source: "recorded", StartMS: r.start.UnixMilli()}
	out := w
	if gz {
		r.zw = gzip.NewWriter(w)
		out = r.zw
	}
	cw, err := replay.NewCaptureWriter(out, h)
	if err != nil {
		return nil, err
	}
	flush := func() error {
		if err := cw.Flush(); err != nil {
			return err
		}
		if r.zw != nil {
			return r.zw.Flush()
		}
		return nil
	}
	r.j = newJournal(r.start, cw, flush)
	return r, nil
}

// Start is the wall time of t_us 0.
func (r *Recorder) Start() time.Time { return r.start }

// rewrite points the request at the upstream and otherwise leaves it as it
// came: Rewrite drops the client's X-Forwarded-* and Forwarded headers,
// which are the client's, so they are put back.
func (r *Recorder) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(r.upstream)
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		}
	}
}

// tracked is a recorded request on its way: its slot and its event.
type tracked struct {
	s  *slot
	ev replay.Event
}

type trackedKey struct{}

// ServeHTTP forwards the request to the upstream, recording it when it is
// a bettor request that the upstream answers.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	rt, ok := routeOf(req.Method, req.URL.EscapedPath())
	if !ok {
		r.proxy.ServeHTTP(w, req)
		return
	}
	s := r.j.begin() // stamped on arrival, before its body is read
	body, rest, err := readSmall(req.Body)
	if err != nil {
		// The client's body broke off: forwarding what came would send a
		// different request, so it is refused here, as a transport error.
		r.j.resolve(s, replay.Event{}, false)
		r.unanswered.Add(1)
		gatewayError(w, http.StatusBadRequest, "EINVALID", "recorder: reading the request body: "+err.Error())
		return
	}
	if rest {
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), req.Body), req.Body}
	} else {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	ev, perr := parseBody(rt, body, r.bets.account)
	if perr != nil || rest {
		r.j.resolve(s, replay.Event{}, false)
		if errors.Is(perr, ErrUnknownBet) {
			r.orphans.Add(1)
		} else {
			r.malformed.Add(1)
		}
		r.proxy.ServeHTTP(w, req)
		return
	}
	if ev.Kind == replay.KindBet {
		r.bets.add(ev.ID, ev.Account)
	}
	t := &tracked{s: s, ev: ev}
	req = req.WithContext(context.WithValue(req.Context(), trackedKey{}, t))
	r.proxy.ServeHTTP(w, req)
	// Not answered (the error handler ran, or the client left first): the
	// slot is still pending, and is skipped.
	if r.j.resolve(t.s, replay.Event{}, false) {
		r.unanswered.Add(1)
	}
}

// answered records a tracked request as soon as the upstream's answer
// arrives, whatever it says.
func (r *Recorder) answered(resp *http.Response) error {
	t, _ := resp.Request.Context().Value(trackedKey{}).(*tracked)
	if t == nil {
		return nil
	}
	if r.j.resolve(t.s, t.ev, true) && resp.StatusCode >= 400 {
		r.refused.Add(1)
	}
	return nil
}

// upstreamFailed answers a request the upstream did not answer with 502
// in the API's error shape, unless the client has gone already.
func (r *Recorder) upstreamFailed(w http.ResponseWriter, req *http.Request, err error) {
	if req.Context().Err() != nil {
		return // the client left; there is no one to answer
	}
	r.log.Warn("upstream did not answer", "method", req.Method, "path", req.URL.Path, "err", err)
	gatewayError(w, http.StatusBadGateway, "EUPSTREAM", "recorder: the upstream did not answer: "+err.Error())
}

func gatewayError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// readSmall reads up to MaxBody+1 bytes of body. rest is true when there is
// more: the body is too big to record, and the rest is still in body.
func readSmall(body io.ReadCloser) (b []byte, rest bool, err error) {
	if body == nil || body == http.NoBody {
		return nil, false, nil
	}
	b, err = io.ReadAll(io.LimitReader(body, MaxBody+1))
	if err != nil {
		return nil, false, err
	}
	return b, len(b) > MaxBody, nil
}

// Counts is the summary so far, without the events written (ByKind and
// Events are filled only by Close): for progress, and for tests that wait
// for a request or a feed message to have been seen.
func (r *Recorder) Counts() Summary {
	return Summary{Duration: time.Since(r.start), Requests: r.requests.Load(), Refused: r.refused.Load(),
		Malformed: r.malformed.Load(), Unanswered: r.unanswered.Load(), Orphans: r.orphans.Load(), Feed: r.feed.summary()}
}

// Close stops recording: requests still waiting for the upstream are lost
// (counted), the rest is written and flushed, and the summary returned.
// It returns the first error writing the capture. Close it after the
// proxy's server has stopped and RunFeed has returned; a second Close
// returns what the first did.
func (r *Recorder) Close() (Summary, error) {
	r.closeOnce.Do(func() {
		err := r.j.close()
		if r.zw != nil {
			err = errors.Join(err, r.zw.Close())
		}
		s := Summary{
			Duration: time.Since(r.start), ByKind: maps.Clone(r.j.written), Lost: r.j.lost,
			Requests: r.requests.Load(), Refused: r.refused.Load(), Malformed: r.malformed.Load(),
			Unanswered: r.unanswered.Load(), Orphans: r.orphans.Load(), Feed: r.feed.summary(),
		}
		for _, n := range s.ByKind {
			s.Events += n
		}
		r.summary, r.closeErr = s, err
		if err != nil {
			r.closeErr = fmt.Errorf("writing the capture: %w", err)
		}
	})
	return r.summary, r.closeErr
}

// bufferPool lends the proxy its copy buffers, so a request allocates none.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// ShutdownGrace bounds how long Run lets requests in flight finish once
// it is told to stop.
const ShutdownGrace = 5 * time.Second

// Run serves the recording proxy on ln, and subscribes to cfg.Feed when it
// is set, until ctx ends; then it stops taking requests, lets those in
// flight finish (at most ShutdownGrace), closes the connections it
// forwarded as upgrades (WebSockets), and closes the recorder. ln is
// closed when Run returns.
func Run(ctx context.Context, ln net.Listener, w io.Writer, gz bool, cfg Config) (Summary, error) {
	rec, err := New(w, gz, cfg)
	if err != nil {
		ln.Close()
		return Summary{}, err
	}
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           rec,
		ReadHeaderTimeout: 10 * time.Second,
		// Hijacked connections (upgrades) outlive Shutdown; their copy
		// ends when this context does.
		BaseContext: func(net.Listener) context.Context { return base },
		ErrorLog:    slog.NewLogLogger(rec.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	feedCtx, stopFeed := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		if rec.feedURL != nil {
			rec.RunFeed(feedCtx)
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	grace, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	if err := srv.Shutdown(grace); err != nil {
		srv.Close()
	}
	cancel()
	cancelBase()
	stopFeed()
	<-feedDone
	sum, err := rec.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(fmt.Errorf("serving on %s: %w", ln.Addr(), serveErr), err)
	}
	return sum, err
}
