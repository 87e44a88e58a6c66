package betfair

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// MaxLine is the longest line, in bytes, the importer reads. A market's
// full image with every runner's whole ladder is a few hundred kilobytes;
// a longer line is a broken file. It is a bad line, and reading goes on
// after it.
const MaxLine = 16 << 20

// input is one file to import: its name, for messages, and how to open it
// (twice: the prescan reads it once before the import does).
type input struct {
	name string
	open func() (io.ReadCloser, error)
}

func fileInput(path string) input {
	return input{name: path, open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// lineReader reads the lines of one input, decompressed.
type lineReader struct {
	name  string
	file  io.Closer
	dec   io.Closer // the gzip reader, when there is one
	kind  string    // "gzip" or "bzip2" when decompressing, for messages
	br    *bufio.Reader
	line  int64 // lines read so far
	buf   []byte
	bytes int64 // bytes read, after decompression
}

// openLines opens in and decompresses it: gzip when it starts with gzip's
// magic bytes, bzip2 when it starts with bzip2's, else by its name (.gz,
// .bz2), else plain. A file whose name says compressed but whose content is
// not fails on its first line.
func openLines(in input) (*lineReader, error) {
	f, err := in.open()
	if err != nil {
		return nil, err
	}
	raw := bufio.NewReaderSize(f, 256<<10)
	magic, _ := raw.Peek(4) // a short file has no magic; it is read as it is
	lr := &lineReader{name: in.name, file: f}
	var r io.Reader = raw
	switch {
	case isGzip(magic) || !isBzip2(magic) && strings.HasSuffix(in.name, ".gz"):
		zr, err := gzip.NewReader(raw)
		if err != nil {
			f.Close()
			return nil, &LineError{File: in.name, Line: 1, Err: fmt.Errorf("not a readable gzip file: %w", err)}
		}
		r, lr.dec, lr.kind = zr, zr, "gzip"
	case isBzip2(magic) || strings.HasSuffix(in.name, ".bz2"):
		r, lr.kind = bzip2.NewReader(raw), "bzip2"
	}
	if r == raw {
		lr.br = raw
	} else {
		lr.br = bufio.NewReaderSize(r, 256<<10)
	}
	return lr, nil
}

func isGzip(magic []byte) bool { return len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b }

// isBzip2 matches "BZh" and a block size digit.
func isBzip2(magic []byte) bool {
	return len(magic) >= 4 && string(magic[:3]) == "BZh" && magic[3] >= '1' && magic[3] <= '9'
}

// errLineTooLong marks a line longer than MaxLine.
var errLineTooLong = fmt.Errorf("longer than %d bytes", MaxLine)

// next returns the next line, without its line ending, valid until the
// following call; io.EOF after the last. A line longer than MaxLine is
// returned as errLineTooLong, after it was read past. Any other error is a
// file that cannot be read on (a truncated or corrupt compressed stream),
// as a *LineError naming the line where reading stopped.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	long := false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.bytes += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			if !long && len(lr.buf)+len(chunk) <= MaxLine {
				lr.buf = append(lr.buf, chunk...)
			} else {
				long, lr.buf = true, lr.buf[:0]
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, lr.readError(err)
		}
		if err == io.EOF && len(chunk) == 0 && len(lr.buf) == 0 && !long {
			return nil, io.EOF
		}
		lr.line++
		if long || len(lr.buf)+len(chunk) > MaxLine {
			return nil, errLineTooLong
		}
		line := chunk
		if len(lr.buf) > 0 {
			lr.buf = append(lr.buf, chunk...)
			line = lr.buf
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, nil
	}
}

// readError is err, met reading line lr.line+1, as an error that says what
// it means for the file.
func (lr *lineReader) readError(err error) error {
	e := &LineError{File: lr.name, Line: lr.line + 1}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) && lr.kind != "":
		e.Err = fmt.Errorf("the %s stream ends early: the file is truncated (%w)", lr.kind, err)
	case lr.kind != "":
		e.Err = fmt.Errorf("the %s stream is corrupt: %w", lr.kind, err)
	default:
		e.Err = fmt.Errorf("reading: %w", err)
	}
	e.fatal = true
	return e
}

func (lr *lineReader) close() error {
	var err error
	if lr.dec != nil {
		err = lr.dec.Close()
	}
	return errors.Join(err, lr.file.Close())
}

// scanInfo is what the prescan learns of one file.
type scanInfo struct {
	minPT, maxPT int64 // of its mcm and ccm messages
	hasPT        bool
	inPlayPT     int64 // when a market first turned in play
	hasInPlay    bool
}

// prescan reads in once, quickly, for what the header and the window need
// before the first event: the first and last publish times, and when a
// market first turned in play. Bad lines are passed over here; the import
// itself reports them. A file that cannot be read to its end is an error.
func prescan(in input) (scanInfo, error) {
	var s scanInfo
	lr, err := openLines(in)
	if err != nil {
		return s, err
	}
	defer lr.close()
	inPlay := []byte(`"inPlay"`)
	var dec decoder
	for {
		line, err := lr.next()
		if err == io.EOF {
			return s, nil
		}
		if err == errLineTooLong {
			continue
		}
		if err != nil {
			return s, err
		}
		op, pt, hasPT := topLevel(line)
		if !hasPT || pt < 0 || pt > maxPT || op != "mcm" && op != "ccm" {
			continue
		}
		if !s.hasPT || pt < s.minPT {
			s.minPT = pt
		}
		if !s.hasPT || pt > s.maxPT {
			s.maxPT = pt
		}
		s.hasPT = true
		if op == "mcm" && (!s.hasInPlay || pt < s.inPlayPT) && bytes.Contains(line, inPlay) && turnsInPlay(&dec, line) {
			s.inPlayPT, s.hasInPlay = pt, true
		}
	}
}

// turnsInPlay reports whether the mcm line holds a definition with inPlay
// true.
func turnsInPlay(dec *decoder, line []byte) bool {
	m, err := dec.decode(line)
	if err != nil {
		return false
	}
	for _, mc := range m.mc {
		if d := mc.marketDefinition; d != nil && d.inPlay != nil && *d.inPlay {
			return true
		}
	}
	return false
}

// topLevel finds a JSON object's top-level "op" string and "pt" integer
// without decoding the rest, and stops as soon as it has both: the
// prescan's fast path. It does not check the rest of the line.
func topLevel(b []byte) (op string, pt int64, hasPT bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", 0, false
	}
	i++
	hasOp := false
	for !(hasOp && hasPT) {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return op, pt, hasPT
		}
		kEnd := skipString(b, i)
		if kEnd < 0 {
			return op, pt, hasPT
		}
		key := b[i+1 : kEnd-1]
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return op, pt, hasPT
		}
		i = skipSpace(b, i+1)
		vEnd := skipValue(b, i)
		if vEnd < 0 {
			return op, pt, hasPT
		}
		val := b[i:vEnd]
		switch string(key) {
		case "op":
			if len(val) >= 2 && val[0] == '"' {
				op, hasOp = string(val[1:len(val)-1]), true
			}
		case "pt":
			if n, err := strconv.ParseInt(string(val), 10, 64); err == nil {
				pt, hasPT = n, true
			}
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) || b[i] != ',' {
			return op, pt, hasPT
		}
		i++
	}
	return op, pt, hasPT
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1 when it does not end.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1
// when it does not end.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
