package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/internal/jsonl"
)

// MaxCaptureLine is the longest capture line, in bytes, that ReadCapture
// accepts; a longer line is a broken file, not a big event.
const MaxCaptureLine = 1 << 20

// Limits on how many problems a capture's error keeps and shows: enough to
// fix a file in one pass, not so many that a binary file floods the
// terminal (herr's).
const (
	keptProblems   = herr.MaxKept
	listedProblems = herr.MaxListed
)

// CaptureSource is the Source of the *herr.Error (EINPUT) that lists a
// capture's problems; a caller that knows the file names it instead.
const CaptureSource = "invalid capture"

// checker collects problems line by line, and the t_us order across lines.
type checker struct {
	err   herr.Error
	prevT int64
}

// add records problems found on one line.
func (c *checker) add(line int, problems ...string) {
	for _, p := range problems {
		if len(c.err.Problems) < keptProblems {
			c.err.Problems = append(c.err.Problems, fmt.Sprintf("line %d: %s", line, p))
		} else {
			c.err.Omitted++
		}
	}
}

// event checks one event and its place in the t_us order.
func (c *checker) event(line int, e Event) {
	c.add(line, e.problems()...)
	if e.T < c.prevT {
		c.add(line, fmt.Sprintf("t_us %d goes backwards (an earlier line has %d)", e.T, c.prevT))
	}
	c.prevT = max(c.prevT, e.T)
}

// result is nil when no problem was found, else a *herr.Error (EINPUT)
// listing every problem.
func (c *checker) result() error {
	if len(c.err.Problems) == 0 {
		return nil
	}
	c.err.Code, c.err.Source = herr.EINPUT, CaptureSource
	return &c.err
}

// ReadOption changes how a capture is read.
type ReadOption func(*readConfig)

type readConfig struct {
	skipBad bool // count and skip bad event lines
	all     bool // go on past bad lines, and end with every problem
	maxLine int
}

// SkipBad makes a reader skip an event line that is not a valid event (bad
// JSON, an unknown field or kind, a missing field, a t_us that goes
// backwards, a line that is too long), counting it (CaptureReader.Skipped),
// instead of ending with an error. A bad header is still an error: without
// it nothing after it can be trusted.
func SkipBad() ReadOption { return func(c *readConfig) { c.skipBad = true } }

// AllProblems makes a reader go on past bad lines, collecting them, and end
// with one *herr.Error listing every problem where it would have ended with
// io.EOF; the events it hands out before then are the valid ones. It is for
// checking a whole file in one pass (ReadCapture, a run's load step), so
// that every problem is reported at once.
func AllProblems() ReadOption { return func(c *readConfig) { c.all = true } }

// CaptureReader is a capture read one event at a time, in constant memory:
// a Stream. Every line is checked as ReadCapture checks it; by default the
// first bad line ends the stream with a *herr.Error naming the line (and,
// from OpenStream, the file). See SkipBad and AllProblems.
type CaptureReader struct {
	jr      *jsonl.Reader
	source  string // the file, for errors; "" for a plain reader
	cfg     readConfig
	header  Header
	chk     checker
	skipped int
	err     error       // the error every later Next returns, io.EOF included
	closers []io.Closer // closed by Close, last first
}

// NewCaptureReader reads a capture from r; it reads and checks the header
// line at once. source names r in errors ("" for none).
func NewCaptureReader(r io.Reader, source string, opts ...ReadOption) (*CaptureReader, error) {
	cr := &CaptureReader{source: source, cfg: readConfig{maxLine: MaxCaptureLine}}
	for _, o := range opts {
		o(&cr.cfg)
	}
	// The jsonl reader never skips: which line is bad is decided here.
	cr.jr = jsonl.NewReader(r, "", jsonl.Options{MaxLine: cr.cfg.maxLine})
	if err := cr.readHeader(); err != nil {
		return nil, err
	}
	return cr, nil
}

// OpenStream opens the capture file at path as a CaptureReader. It gunzips
// the file when its name ends in .gz or when it starts with gzip's magic
// bytes, so a compressed file works under any name; a truncated or corrupt
// gzip stream is an error naming the line it broke in, never a short
// capture. Close it when done.
func OpenStream(path string, opts ...ReadOption) (*CaptureReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	magic, _ := br.Peek(2) // a short file has no magic; the reader reports it
	var r io.Reader = br
	closers := []io.Closer{f}
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) || strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("capture %s: %w", path, err)
		}
		r = zr
		closers = append(closers, zr)
	}
	cr, err := NewCaptureReader(r, path, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	cr.closers = closers
	return cr, nil
}

// Header is the capture's header line.
func (r *CaptureReader) Header() Header { return r.header }

// Skipped is how many bad event lines were skipped (SkipBad).
func (r *CaptureReader) Skipped() int { return r.skipped }

// Close closes the file OpenStream opened; it does nothing for a reader
// from NewCaptureReader.
func (r *CaptureReader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i].Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// wrap names the file in err, as OpenCapture always has.
func (r *CaptureReader) wrap(err error) error {
	if r.source == "" || err == io.EOF {
		return err
	}
	return fmt.Errorf("capture %s: %w", r.source, err)
}

// fail records problems of line: it returns the error that ends the
// stream, or nil when reading goes on (the line skipped, or its problems
// collected).
func (r *CaptureReader) fail(line int, header bool, problems ...string) error {
	switch {
	case r.cfg.all:
		r.chk.add(line, problems...)
		return nil
	case r.cfg.skipBad && !header:
		r.skipped++
		return nil
	}
	var c checker
	c.add(line, problems...)
	return r.wrap(c.result())
}

// readHeader reads line 1.
func (r *CaptureReader) readHeader() error {
	b, err := r.jr.Next()
	if err == io.EOF {
		if err := r.fail(1, true, "empty capture: no header line"); err != nil {
			return err
		}
		r.err = r.end()
		return nil
	}
	if err != nil {
		return r.lineError(err, true)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return r.fail(1, true, "empty line")
	}
	if err := jsonl.Unmarshal(b, &r.header); err != nil {
		return r.fail(1, true, "header: "+err.Error())
	}
	if p := r.header.problems(); len(p) > 0 {
		return r.fail(1, true, p...)
	}
	return nil
}

// lineError handles an error of the jsonl reader: a line too long, or a
// read error, which always ends the stream.
func (r *CaptureReader) lineError(err error, header bool) error {
	var le *jsonl.Error
	if errors.As(err, &le) && le.TooLong {
		if r.cfg.all {
			// Checking a file: say where, and stop, as ReadCapture always has.
			r.chk.add(le.Line, fmt.Sprintf("longer than %d bytes; reading stopped here", r.cfg.maxLine))
			r.err = r.wrap(r.chk.result())
			return r.err
		}
		return r.fail(le.Line, header, fmt.Sprintf("longer than %d bytes", r.cfg.maxLine))
	}
	if errors.As(err, &le) && le.Err != nil {
		err = fmt.Errorf("reading capture line %d: %w", le.Line, le.Err)
	}
	r.err = r.wrap(err)
	return r.err
}

// end is what the stream ends with: io.EOF, or every problem collected.
func (r *CaptureReader) end() error {
	if err := r.chk.result(); err != nil {
		return r.wrap(err)
	}
	return io.EOF
}

// Next returns the next valid event; io.EOF after the last one. Any other
// error ends the stream, and every later call returns it.
func (r *CaptureReader) Next() (Event, error) {
	for r.err == nil {
		b, err := r.jr.Next()
		if err == io.EOF {
			r.err = r.end()
			break
		}
		if err != nil {
			if err := r.lineError(err, false); err != nil {
				r.err = err
			}
			continue
		}
		line := r.jr.Line()
		if len(bytes.TrimSpace(b)) == 0 {
			r.err = r.fail(line, false, "empty line")
			continue
		}
		var e Event
		if err := jsonl.Unmarshal(b, &e); err != nil {
			r.err = r.fail(line, false, err.Error())
			continue
		}
		problems := e.problems()
		if e.T < r.chk.prevT {
			problems = append(problems, fmt.Sprintf("t_us %d goes backwards (an earlier line has %d)", e.T, r.chk.prevT))
		}
		if len(problems) > 0 {
			if r.cfg.all {
				// As ReadCapture always has: the order is checked against
				// every decoded line, bad or not.
				r.chk.prevT = max(r.chk.prevT, e.T)
			}
			r.err = r.fail(line, false, problems...)
			continue
		}
		r.chk.prevT = max(r.chk.prevT, e.T)
		return e, nil
	}
	return Event{}, r.err
}

// ReadCapture decodes a capture (format v1) from r into memory; for small
// captures and tests (a capture of any size streams with NewCaptureReader
// or OpenStream). Decoding is strict: it reads the whole input and returns
// every problem in one *herr.Error (an unknown field or kind, a missing
// field, bad odds, a non-positive amount, t_us going backwards, ...), each
// naming its line. An error reading r is returned as it is, wrapped.
func ReadCapture(r io.Reader) (*Capture, error) {
	cr, err := NewCaptureReader(r, "", AllProblems())
	if err != nil {
		return nil, err
	}
	return Collect(cr)
}

// OpenCapture reads the capture file at path into memory, as ReadCapture
// does, after gunzipping it as OpenStream does.
func OpenCapture(path string) (*Capture, error) {
	cr, err := OpenStream(path, AllProblems())
	if err != nil {
		return nil, err
	}
	defer cr.Close()
	return Collect(cr)
}
