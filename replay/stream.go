package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/inplaylabs/inplay/internal/herr"
)

// Stream is a capture read one event at a time, so that a capture of any
// size is handled in constant memory: its header, then its events in t_us
// order. Next returns io.EOF after the last event; any other error ends the
// stream. Producers (a file reader, the Betfair importer, the bettor
// overlay, a generator) and consumers (the planner, the writer, stats) meet
// here.
type Stream interface {
	Header() Header
	Next() (Event, error)
}

// Stream returns c's events as a Stream.
func (c *Capture) Stream() Stream {
	return &sliceStream{header: c.Header, events: c.Events}
}

type sliceStream struct {
	header Header
	events []Event
	i      int
}

func (s *sliceStream) Header() Header { return s.header }

func (s *sliceStream) Next() (Event, error) {
	if s.i >= len(s.events) {
		return Event{}, io.EOF
	}
	s.i++
	return s.events[s.i-1], nil
}

// Collect reads s to its end into a Capture; for tests and small captures.
func Collect(s Stream) (*Capture, error) {
	c := &Capture{Header: s.Header()}
	for {
		e, err := s.Next()
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		c.Events = append(c.Events, e)
	}
}

// CaptureWriter writes a capture one event at a time, in the canonical form
// WriteCapture gives (equal captures give equal bytes), checking each event
// as a reader would: an invalid event or one whose t_us goes backwards is
// refused with an error naming the line it would have had, and nothing of
// it is written.
type CaptureWriter struct {
	bw   *bufio.Writer
	enc  *json.Encoder
	line int
	prev int64
	n    int64
}

// NewCaptureWriter checks h and writes it as the first line.
func NewCaptureWriter(w io.Writer, h Header) (*CaptureWriter, error) {
	if p := h.problems(); len(p) > 0 {
		return nil, &herr.Error{Code: herr.EINPUT, Source: CaptureSource, Problems: []string{"line 1: " + p[0]}, Omitted: len(p) - 1}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // ids and selections are data, not HTML
	if err := enc.Encode(h); err != nil {
		return nil, err
	}
	return &CaptureWriter{bw: bw, enc: enc, line: 1}, nil
}

// Write checks e and appends it.
func (w *CaptureWriter) Write(e Event) error {
	var chk checker
	chk.prevT = w.prev
	chk.event(w.line+1, e)
	if err := chk.result(); err != nil {
		return err
	}
	if err := w.enc.Encode(e); err != nil {
		return err
	}
	w.line++
	w.prev = max(w.prev, e.T)
	w.n++
	return nil
}

// Events is how many events have been written.
func (w *CaptureWriter) Events() int64 { return w.n }

// Flush writes out what is buffered; call it once after the last event.
func (w *CaptureWriter) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}

// Copy writes every event of s to w, then flushes it.
func (w *CaptureWriter) Copy(s Stream) error {
	for {
		e, err := s.Next()
		if err == io.EOF {
			return w.Flush()
		}
		if err != nil {
			return err
		}
		if err := w.Write(e); err != nil {
			return err
		}
	}
}
