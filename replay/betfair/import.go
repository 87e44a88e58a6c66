package betfair

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// Producer is the producer of every feed event the importer writes, and
// Source the capture header's source.
const (
	Producer = "betfair"
	Source   = "betfair"
)

// Options control an import.
type Options struct {
	// Name is the capture's name, in its header.
	Name string
	// From and Until bound the capture's window, inclusive; "" is
	// unbounded. Each is an RFC 3339 time ("2022-07-11T13:00:00Z"), or an
	// offset from the first time any market in the files turned in play:
	// "inplay", "inplay-10m", "inplay+1h30m" (Go duration syntax).
	From, Until string
	// SkipBad counts bad lines (Stats.BadLines) and goes on, instead of
	// ending the import with an error at the first one.
	SkipBad bool
}

// Stats describe an import so far (all of it, once Next returned io.EOF).
type Stats struct {
	Files    int
	Lines    int64            // lines read, blank ones included
	Bytes    int64            // bytes read, after decompression
	Messages map[string]int64 // messages by op: mcm, ccm, and the skipped ones (connection, status, heartbeat, ...)
	Markets  int              // distinct markets in mcm and ccm messages
	Events   map[replay.Kind]int64
	// BadLines is how many bad lines SkipBad skipped; BadExamples names
	// the first few, with their file and line.
	BadLines    int64
	BadExamples []string
	// Folded is how many mcm and ccm messages before From were folded into
	// the state the capture opens with; Omitted is how many markets were
	// left out because they closed and were resulted before From.
	Folded  int64
	Omitted int
	// Notes counts values the importer read past or adjusted without
	// dropping their line, by what happened ("ladder price outside
	// 1.01..1000, left out", "pt earlier than the line before, t_us held").
	Notes map[string]int64
}

// maxBadExamples is how many bad lines Stats.BadExamples keeps.
const maxBadExamples = 5

// LineError is a bad line, or a file that cannot be read on, named by its
// file and line: "cricket.jsonl line 812: bad JSON: ...".
type LineError struct {
	File string
	Line int64
	Err  error

	fatal bool // the file cannot be read on: SkipBad does not skip it
}

func (e *LineError) Error() string { return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Import is an import in progress: a replay.Stream of the capture events of
// one or more Betfair stream files, merged in time order. Close it when
// done with it before its end.
type Import struct {
	header  replay.Header
	opts    Options
	inputs  []input
	sources sourceHeap
	all     []*source

	start       int64 // pt of t_us 0
	from, until int64
	hasFrom     bool
	hasUntil    bool
	folding     bool // messages are still before From

	markets map[string]*market
	order   []*market // markets in the order first seen, for the snapshot
	scores  map[string]*score

	pending []replay.Event
	next    int // index in pending of the next event to return
	lastT   int64
	err     error // sticky: io.EOF at the end, or what ended the import
	stats   Stats
	note    func(string)
}

// Open starts importing the Betfair Exchange Stream files at paths (plain,
// gzip or bzip2), merged in time order. It reads each file once before it
// returns, for the header's start and duration and for a window relative to
// the first turn in play, then once more as events are read.
func Open(paths []string, opts Options) (*Import, error) {
	inputs := make([]input, len(paths))
	for i, p := range paths {
		inputs[i] = fileInput(p)
	}
	return openInputs(inputs, opts)
}

func openInputs(inputs []input, opts Options) (*Import, error) {
	if len(inputs) == 0 {
		return nil, errors.New("betfair: no files to import")
	}
	from, err := parseBound(opts.From)
	if err != nil {
		return nil, fmt.Errorf("from %w", err)
	}
	until, err := parseBound(opts.Until)
	if err != nil {
		return nil, fmt.Errorf("until %w", err)
	}
	var all scanInfo
	for _, in := range inputs {
		s, err := prescan(in)
		if err != nil {
			return nil, err
		}
		if s.hasPT {
			if !all.hasPT || s.minPT < all.minPT {
				all.minPT = s.minPT
			}
			if !all.hasPT || s.maxPT > all.maxPT {
				all.maxPT = s.maxPT
			}
			all.hasPT = true
		}
		if s.hasInPlay && (!all.hasInPlay || s.inPlayPT < all.inPlayPT) {
			all.inPlayPT, all.hasInPlay = s.inPlayPT, true
		}
	}
	im := &Import{
		opts: opts, inputs: inputs,
		markets: make(map[string]*market), scores: make(map[string]*score),
		stats: Stats{Files: len(inputs), Messages: make(map[string]int64), Events: make(map[replay.Kind]int64), Notes: make(map[string]int64)},
	}
	im.note = func(s string) { im.stats.Notes[s]++ }
	for _, b := range []struct {
		name string
		b    bound
		ms   *int64
		set  *bool
	}{{"from", from, &im.from, &im.hasFrom}, {"until", until, &im.until, &im.hasUntil}} {
		if !b.b.set {
			continue
		}
		if b.b.inPlay && !all.hasInPlay {
			return nil, fmt.Errorf("%s %q: no market in these files turns in play", b.name, b.b.text)
		}
		*b.ms, *b.set = b.b.resolve(all.inPlayPT), true
	}
	if im.hasFrom && im.hasUntil && im.until < im.from {
		return nil, fmt.Errorf("until %q is before from %q", opts.Until, opts.From)
	}
	im.start = all.minPT
	if im.hasFrom && (im.from > im.start || !all.hasPT) {
		im.start = max(im.from, 0)
	}
	end := all.maxPT
	if im.hasUntil {
		end = min(end, im.until)
	}
	im.header = replay.Header{
		Capture: replay.CaptureVersion, Name: opts.Name, Source: Source,
		StartMS: im.start, DurationUS: max(end-im.start, 0) * 1000,
	}
	if !all.hasPT {
		im.header.DurationUS = 0
	}
	im.folding = im.hasFrom
	for i, in := range inputs {
		lr, err := openLines(in)
		if err != nil {
			im.Close()
			return nil, err
		}
		src := &source{idx: i, lr: lr}
		im.all = append(im.all, src)
		im.advance(src)
		if !src.done {
			im.sources = append(im.sources, src)
		}
	}
	heap.Init(&im.sources)
	return im, nil
}

// Header is the capture's header: source "betfair", the name from Options,
// start_ms the publish time of t_us 0, and duration_us to the last mcm or
// ccm message in the window (or to Until, when that comes first).
func (im *Import) Header() replay.Header { return im.header }

// Next returns the next capture event, io.EOF after the last, or an error
// (a *LineError for a bad line or an unreadable file) that ends the import.
// Every event it returns passes Event.Validate, and t_us never goes back.
func (im *Import) Next() (replay.Event, error) {
	for im.next >= len(im.pending) {
		if im.err != nil {
			return replay.Event{}, im.err
		}
		clear(im.pending)
		im.pending, im.next = im.pending[:0], 0
		if err := im.step(); err != nil {
			im.err = err
			im.Close()
		}
	}
	e := im.pending[im.next]
	im.next++
	return e, nil
}

// Stats returns the import's statistics so far.
func (im *Import) Stats() Stats {
	s := im.stats
	s.Messages, s.Events, s.Notes = maps.Clone(s.Messages), maps.Clone(s.Events), maps.Clone(s.Notes)
	s.BadExamples = append([]string(nil), s.BadExamples...)
	s.Markets = len(im.markets)
	for id := range im.scores {
		if _, ok := im.markets[id]; !ok {
			s.Markets++
		}
	}
	for _, src := range im.all {
		s.Bytes += src.lr.bytes
	}
	return s
}

// Close closes the files; Next closes them itself at the end.
func (im *Import) Close() error {
	var errs []error
	for _, src := range im.all {
		if !src.closed {
			src.closed = true
			errs = append(errs, src.lr.close())
		}
	}
	return errors.Join(errs...)
}

// step takes the next message in time order and appends its events to
// pending (maybe none).
func (im *Import) step() error {
	if im.sources.Len() == 0 {
		return im.finish()
	}
	src := im.sources[0]
	if src.err != nil {
		return src.err
	}
	if msg := &src.head; im.hasUntil && msg.timed() && msg.pt > im.until {
		return im.finish()
	}
	// The message is applied before its file's next line is decoded: the
	// decoder reuses its memory from line to line.
	err := im.process(&src.head)
	im.advance(src)
	if src.done {
		heap.Pop(&im.sources)
	} else {
		heap.Fix(&im.sources, 0)
	}
	return err
}

// process applies one message and appends its events to pending.
func (im *Import) process(msg *message) error {
	im.stats.Messages[msg.op]++
	if !msg.timed() {
		return nil // other ops carry nothing the capture holds
	}
	folding := im.hasFrom && msg.pt < im.from
	first := len(im.pending)
	if im.folding && !folding {
		im.folding = false
		im.snapshot()
	}
	if folding {
		im.stats.Folded++
	}
	t := (msg.pt - im.start) * 1000
	if t < im.lastT {
		if !folding && t >= 0 {
			im.note("pt earlier than the line before, t_us held")
		}
		t = im.lastT
	}
	im.lastT = t
	switch msg.op {
	case "mcm":
		for i := range msg.mc {
			mc := &msg.mc[i]
			m, ok := im.markets[mc.id]
			if !ok {
				m = newMarket(mc.id)
				im.markets[mc.id] = m
				im.order = append(im.order, m)
			}
			m.apply(mc, im.note)
			m.lastPT = msg.pt
			if folding {
				m.fold()
			} else {
				im.pending = m.events(im.pending, t, msg.pt)
			}
		}
	case "ccm":
		for i := range msg.cc {
			cc := &msg.cc[i]
			if cc.marketID == "" {
				im.note("score change without marketId, left out")
				continue
			}
			sc, ok := im.scores[cc.marketID]
			if !ok {
				sc = newScore()
				im.scores[cc.marketID] = sc
			}
			for _, in := range sc.update(cc, im.note) {
				if !folding {
					im.pending = append(im.pending, incidentEvent(t, msg.pt, cc.marketID, in))
				}
			}
		}
	}
	return im.checkNew(first, im.inputs[msg.file].name, msg.line)
}

// finish ends the import: with the snapshot first when every message read
// was before From.
func (im *Import) finish() error {
	if !im.folding {
		return io.EOF
	}
	im.folding = false
	im.snapshot()
	return im.checkNew(0, "", 0)
}

// snapshot appends, at t_us 0, the state as of From of every market seen
// before it.
func (im *Import) snapshot() {
	for _, m := range im.order {
		n := len(im.pending)
		im.pending = m.snapshot(im.pending, 0)
		if m.omitted && len(im.pending) == n {
			im.stats.Omitted++
		}
	}
}

// checkNew counts the events from pending[first:] and checks each against
// the capture format: one that fails is a bug in the importer, reported
// with the line that gave it.
func (im *Import) checkNew(first int, file string, line int64) error {
	for _, e := range im.pending[first:] {
		if err := e.Validate(); err != nil {
			return &LineError{File: file, Line: line, Err: fmt.Errorf("the importer made an invalid %s event (a bug): %v", e.Kind, err), fatal: true}
		}
		im.stats.Events[e.Kind]++
	}
	return nil
}

// timed reports whether m is an op the importer reads, whose pt was checked.
func (m *message) timed() bool { return m.op == "mcm" || m.op == "ccm" }

// source is one file being merged: its next message, or the error that
// comes next in it.
type source struct {
	idx    int
	lr     *lineReader
	dec    decoder
	head   message
	key    int64 // where head sorts: its pt, or the previous one
	err    error // what comes next instead of a message
	done   bool
	closed bool
}

// advance reads src's next message into head. Blank lines are passed
// over; a bad line is counted and passed over with SkipBad, else it is
// src's next thing, as an error.
func (im *Import) advance(src *source) {
	for {
		line, err := src.lr.next()
		if err == io.EOF {
			src.done = true
			return
		}
		if err == nil {
			im.stats.Lines++
			if isBlank(line) {
				continue
			}
			var msg message
			msg, err = src.dec.decode(line)
			if err == nil {
				msg.file, msg.line = src.idx, src.lr.line
				src.head = msg
				if msg.timed() {
					src.key = msg.pt
				}
				return
			}
			err = &LineError{File: src.lr.name, Line: src.lr.line, Err: err}
		} else if err == errLineTooLong {
			im.stats.Lines++
			err = &LineError{File: src.lr.name, Line: src.lr.line, Err: err}
		}
		var le *LineError
		if im.opts.SkipBad && errors.As(err, &le) && !le.fatal {
			im.stats.BadLines++
			if len(im.stats.BadExamples) < maxBadExamples {
				im.stats.BadExamples = append(im.stats.BadExamples, le.Error())
			}
			continue
		}
		src.err = err
		return
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// sourceHeap orders sources by their next message's pt, then by file.
type sourceHeap []*source

func (h sourceHeap) Len() int { return len(h) }
func (h sourceHeap) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].idx < h[j].idx
}
func (h sourceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)   { *h = append(*h, x.(*source)) }
func (h *sourceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bound is one end of the window, as given.
type bound struct {
	set    bool
	text   string
	inPlay bool
	offset time.Duration // from the first turn in play
	ms     int64         // absolute, Unix ms
}

// parseBound parses an Options.From or Until.
func parseBound(s string) (bound, error) {
	if s == "" {
		return bound{}, nil
	}
	b := bound{set: true, text: s}
	if rest, ok := strings.CutPrefix(s, "inplay"); ok {
		b.inPlay = true
		if rest == "" {
			return b, nil
		}
		d, err := time.ParseDuration(rest)
		if (rest[0] != '+' && rest[0] != '-') || err != nil {
			return bound{}, fmt.Errorf("%q: want inplay, or inplay and a signed duration, like inplay-10m or inplay+1h30m", s)
		}
		b.offset = d
		return b, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return bound{}, fmt.Errorf("%q is neither an RFC 3339 time (2022-07-11T13:00:00Z) nor an offset from the first turn in play (inplay-10m, inplay+1h)", s)
	}
	b.ms = t.UnixMilli()
	return b, nil
}

// resolve is the bound in Unix ms, given when a market first turned in play.
func (b bound) resolve(inPlayPT int64) int64 {
	if b.inPlay {
		return inPlayPT + b.offset.Milliseconds()
	}
	return b.ms
}
