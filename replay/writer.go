package replay

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
)

// WriteCapture writes c to w in capture format v1: the header line, then one
// event per line. It first checks c as ReadCapture would (line numbers are
// those the file would have) and writes nothing if any problem is found, so
// every file it writes reads back. The output is canonical: encoding/json
// orders each line's fields as the struct does and map keys sorted, so equal
// captures give equal bytes.
func WriteCapture(w io.Writer, c *Capture) error {
	var chk checker
	chk.add(1, c.Header.problems()...)
	for i, e := range c.Events {
		chk.event(i+2, e)
	}
	if err := chk.result(); err != nil {
		return err
	}
	return encodeCapture(w, c)
}

// encodeCapture writes c's canonical form without checking it.
func encodeCapture(w io.Writer, c *Capture) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	// Ids and selections are data, not HTML: keep them byte for byte.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c.Header); err != nil {
		return err
	}
	for _, e := range c.Events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// CaptureDigest is the SHA-256 (lower-case hex) of c's canonical form, the
// bytes WriteCapture writes for it; it is the report's run.capture_sha256. It
// equals `sha256sum` of an uncompressed file written by WriteCapture, and it
// does not depend on how a file was compressed or formatted, only on its
// content, so a generated capture and its saved copy have the same digest.
// A capture too big to hold is digested as it streams, with NewDigester.
func CaptureDigest(c *Capture) string {
	d := NewDigester(c.Stream())
	for {
		if _, err := d.Next(); err != nil {
			break // a slice stream ends with io.EOF only
		}
	}
	return d.Sum()
}

// Digester is a Stream that passes another through and hashes what passes,
// in canonical form, so that once the stream has ended Sum is the
// CaptureDigest of everything read: a file is digested while it is read,
// not held for it.
type Digester struct {
	s   Stream
	h   hash.Hash
	enc *json.Encoder
}

// NewDigester hashes s's header at once, then each event as Next returns it.
func NewDigester(s Stream) *Digester {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false) // as encodeCapture
	d := &Digester{s: s, h: h, enc: enc}
	// A hash never fails to write, and a Header always marshals.
	_ = enc.Encode(s.Header())
	return d
}

// Header is the stream's header.
func (d *Digester) Header() Header { return d.s.Header() }

// Next returns the stream's next event, hashing it.
func (d *Digester) Next() (Event, error) {
	e, err := d.s.Next()
	if err == nil {
		_ = d.enc.Encode(e)
	}
	return e, err
}

// Sum is the digest of what has been read so far: CaptureDigest's value
// once Next has returned io.EOF.
func (d *Digester) Sum() string { return hex.EncodeToString(d.h.Sum(nil)) }
