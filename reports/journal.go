package reports

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/inplaylabs/inplay/internal/jsonl"
	"github.com/inplaylabs/inplay/replay"
)

// MaxJournalLine is the longest journal.jsonl line, in bytes, ReadJournal
// accepts.
const MaxJournalLine = 1 << 20

// ReadJournal reads a journal (journal.jsonl: one replay.JournalEntry per
// line, docs/contracts.md) from r as it streams, and gives its entries in
// Seq order. The engine writes each entry when it completes, so the file is
// in completion order: an entry is held back only until the entries before
// it have come, which is never more than the requests that were in flight
// together, so memory does not grow with the journal. Decoding is strict (an
// unknown field or a line that is not one object is an error naming source
// and line); blank lines are skipped; a seq that repeats is an error. A
// seq missing at the end of the input does not hold back those after it:
// they come in order at the end.
func ReadJournal(r io.Reader, source string) iter.Seq2[replay.JournalEntry, error] {
	return func(yield func(replay.JournalEntry, error) bool) {
		jr := jsonl.NewReader(r, source, jsonl.Options{MaxLine: MaxJournalLine})
		name := source
		if name == "" {
			name = "journal"
		}
		var (
			held seqHeap
			next int64 = 1 // the seq to give next
			last int64     // the seq given last
		)
		give := func(e replay.JournalEntry) bool {
			if e.Seq <= last {
				yield(replay.JournalEntry{}, fmt.Errorf("%s: seq %d repeats", name, e.Seq))
				return false
			}
			last = e.Seq
			return yield(e, nil)
		}
		for {
			var e replay.JournalEntry
			err := jr.Decode(&e)
			if err == io.EOF {
				break
			}
			if err != nil {
				yield(replay.JournalEntry{}, err)
				return
			}
			if e.Seq < next {
				yield(replay.JournalEntry{}, fmt.Errorf("%s line %d: seq %d repeats an earlier one or is below 1", name, jr.Line(), e.Seq))
				return
			}
			held.push(e)
			for len(held) > 0 && held[0].Seq <= next {
				if !give(held.pop()) {
					return
				}
				next = last + 1
			}
		}
		for len(held) > 0 {
			if !give(held.pop()) {
				return
			}
		}
	}
}

// JournalFile is a journal.jsonl on disk (gunzipped when it starts with
// gzip's magic bytes), as Input.JournalFrom takes it: each call opens the
// file and reads it again with ReadJournal.
func JournalFile(path string) func() iter.Seq2[replay.JournalEntry, error] {
	return func() iter.Seq2[replay.JournalEntry, error] {
		return func(yield func(replay.JournalEntry, error) bool) {
			f, err := os.Open(path)
			if err != nil {
				yield(replay.JournalEntry{}, fmt.Errorf("journal: %w", err))
				return
			}
			defer f.Close()
			br := bufio.NewReaderSize(f, 64<<10)
			var r io.Reader = br
			if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
				zr, err := gzip.NewReader(br)
				if err != nil {
					yield(replay.JournalEntry{}, fmt.Errorf("journal %s: %w", path, err))
					return
				}
				defer zr.Close()
				r = zr
			}
			for e, err := range ReadJournal(r, path) {
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
}

// seqHeap is a min-heap of entries by Seq.
type seqHeap []replay.JournalEntry

func (h *seqHeap) push(e replay.JournalEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p].Seq <= s[i].Seq {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *seqHeap) pop() replay.JournalEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = replay.JournalEntry{}
	s = s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l].Seq < s[m].Seq {
			m = l
		}
		if r < n && s[r].Seq < s[m].Seq {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
