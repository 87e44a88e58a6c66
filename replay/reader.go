package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxCaptureLine is the longest capture line, in bytes, that ReadCapture
// accepts; a longer line is a broken file, not a big event.
const MaxCaptureLine = 1 << 20

// Limits on how many problems a CaptureError keeps and shows: enough to fix
// a file in one pass, not so many that a binary file floods the terminal.
const (
	keptProblems   = 1000
	listedProblems = 20
)

// CaptureError is every problem found in a capture, each naming its line, so
// the CLI can report them all at once (exit code 3).
type CaptureError struct {
	Problems []string // the first problems found, in file order
	Omitted  int      // problems found beyond those kept in Problems
}

// Error lists the first problems and counts the rest.
func (e *CaptureError) Error() string {
	total := len(e.Problems) + e.Omitted
	var b strings.Builder
	fmt.Fprintf(&b, "invalid capture: %d problem", total)
	if total != 1 {
		b.WriteString("s")
	}
	for i, p := range e.Problems {
		if i == listedProblems {
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	if total > listedProblems {
		fmt.Fprintf(&b, "\n  and %d more", total-listedProblems)
	}
	return b.String()
}

// checker collects problems line by line, and the t_us order across lines.
type checker struct {
	err   CaptureError
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

// result is nil when no problem was found, else the *CaptureError.
func (c *checker) result() error {
	if len(c.err.Problems) == 0 {
		return nil
	}
	return &c.err
}

// ReadCapture decodes a capture (format v1) from r. Decoding is strict: it
// reads the whole input and returns every problem in one *CaptureError (an
// unknown field or kind, a missing field, bad odds, a non-positive amount,
// t_us going backwards, ...), each naming its line. An error reading r is
// returned as it is, wrapped.
func ReadCapture(r io.Reader) (*Capture, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxCaptureLine)
	var (
		c    Capture
		chk  checker
		line int
	)
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			chk.add(line, "empty line")
			continue
		}
		if line == 1 {
			if err := decodeStrict(b, &c.Header); err != nil {
				chk.add(line, "header: "+err.Error())
				continue
			}
			chk.add(line, c.Header.problems()...)
			continue
		}
		var e Event
		if err := decodeStrict(b, &e); err != nil {
			chk.add(line, err.Error())
			continue
		}
		chk.event(line, e)
		c.Events = append(c.Events, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			chk.add(line+1, fmt.Sprintf("longer than %d bytes; reading stopped here", MaxCaptureLine))
			return nil, chk.result()
		}
		return nil, fmt.Errorf("reading capture line %d: %w", line+1, err)
	}
	if line == 0 {
		chk.add(1, "empty capture: no header line")
	}
	if err := chk.result(); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeStrict decodes exactly one JSON object from b into v, refusing
// unknown fields and anything after the object.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad JSON: more data after the object")
	}
	return nil
}

// OpenCapture reads the capture file at path with ReadCapture. It gunzips the
// file when its name ends in .gz or when it starts with gzip's magic bytes,
// so a compressed file works under any name.
func OpenCapture(path string) (*Capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	magic, _ := br.Peek(2) // a short file has no magic; ReadCapture reports it
	var r io.Reader = br
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) || strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	c, err := ReadCapture(r)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	return c, nil
}
