// Package jsonl reads JSON Lines strictly, one line at a time, in constant
// memory: every line is at most a maximum length, each object decodes with
// unknown fields refused and nothing after it, and every error names the
// source and the line. Both the capture reader (replay) and the ledger and
// journal readers (reports) are built on it, so a rule about a bad line is
// written once.
//
// What a line must hold (a header, a type tag, blank lines allowed or not)
// is the caller's business: the Reader hands out lines, Unmarshal decodes
// one, and Fail turns a problem the caller found into an error naming the
// line, or into a counted skip when the reader was asked to skip bad lines.
package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxLine is the longest line, in bytes (without its line ending),
// a Reader accepts when Options.MaxLine is zero: a longer line is a broken
// file, not a big record.
const DefaultMaxLine = 1 << 20

// Options configure a Reader.
type Options struct {
	// MaxLine is the longest line in bytes; 0 means DefaultMaxLine.
	MaxLine int
	// SkipBad makes Decode skip a line that does not decode, and Fail
	// skip a line the caller found bad, counting each (Skipped) instead
	// of returning an error. Read errors are never skipped.
	SkipBad bool
}

// Error is a problem with one line of a source.
type Error struct {
	Source string // the file's name; empty when the input has none
	Line   int    // from 1
	Msg    string // what is wrong, one sentence
	// TooLong is set when the line was longer than the maximum; the
	// Reader has skipped the rest of it, so reading may go on.
	TooLong bool
	// Err is the read error, when the line could not be read at all (a
	// truncated gzip stream, a failing disk); reading cannot go on.
	Err error
}

// Error reads "SOURCE line N: MSG", or "line N: MSG" without a source.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "line %d: %s", e.Line, e.Msg)
	return b.String()
}

// Unwrap returns the read error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Reader reads lines from an io.Reader. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	source  string
	max     int
	skipBad bool
	line    int
	skipped int
	buf     []byte // a line that spans bufio's buffer
	err     error  // a read error or io.EOF: every later call returns it
}

// NewReader reads JSON Lines from r; source names it in errors.
func NewReader(r io.Reader, source string, opts Options) *Reader {
	max := opts.MaxLine
	if max <= 0 {
		max = DefaultMaxLine
	}
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, source: source, max: max, skipBad: opts.SkipBad}
}

// Line is the number of the line last returned, from 1.
func (r *Reader) Line() int { return r.line }

// Skipped is how many bad lines were skipped (Options.SkipBad).
func (r *Reader) Skipped() int { return r.skipped }

// Next returns the next line without its line ending ("\n" or "\r\n"),
// valid until the next call; io.EOF after the last line. A final line
// without a line ending is a line. A line longer than the maximum is an
// *Error with TooLong set, after which Next goes on with the following
// line; a read error is an *Error wrapping it, and ends the reading.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.buf = r.buf[:0]
	n := 0 // bytes of this line so far, its ending included
	spanned := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		n += len(chunk)
		if err == bufio.ErrBufferFull {
			if n <= r.max+2 { // past that it is too long: keep nothing
				r.buf = append(r.buf, chunk...)
			}
			spanned = true
			continue
		}
		if err != nil && err != io.EOF {
			r.err = &Error{Source: r.source, Line: r.line + 1, Msg: "reading: " + err.Error(), Err: err}
			return nil, r.err
		}
		if err == io.EOF {
			r.err = io.EOF // this is the last line, if there is one
			if n == 0 {
				return nil, io.EOF
			}
		}
		r.line++
		line := chunk
		if spanned && n <= r.max+2 {
			r.buf = append(r.buf, chunk...)
			line = r.buf
		}
		if err == nil {
			line = line[:len(line)-1]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if n > r.max+2 || len(line) > r.max {
			return nil, r.tooLong()
		}
		return line, nil
	}
}

func (r *Reader) tooLong() error {
	return &Error{Source: r.source, Line: r.line, Msg: fmt.Sprintf("longer than %d bytes", r.max), TooLong: true}
}

// Decode reads the next line that is not blank into v, strictly (see
// Unmarshal); io.EOF after the last line. With SkipBad, a line that does not
// decode (or is too long) is counted and skipped.
func (r *Reader) Decode(v any) error {
	for {
		b, err := r.Next()
		var le *Error
		if errors.As(err, &le) && le.TooLong && r.skipBad {
			r.skipped++
			continue
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := Unmarshal(b, v); err != nil {
			if err := r.Fail(err.Error()); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

// Fail reports a problem with the line last returned: an *Error naming it,
// or nil when the reader skips bad lines, counting it.
func (r *Reader) Fail(msg string) error {
	if r.skipBad {
		r.skipped++
		return nil
	}
	return &Error{Source: r.source, Line: r.line, Msg: msg}
}

// Unmarshal decodes exactly one JSON value from b into v, refusing unknown
// object fields and anything after the value. Its error reads "bad JSON:
// ...", without encoding/json's "json: " prefix.
func Unmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("bad JSON: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad JSON: more data after the object")
	}
	return nil
}
