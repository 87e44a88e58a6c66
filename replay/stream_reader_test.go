package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/internal/herr"
)

// writeFile writes data under dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenStreamReadsWhatReadCaptureReads(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"plain.jsonl", []byte(smallCapture)},
		{"named.jsonl.gz", gzipped(t, []byte(smallCapture))},
		{"sniffed.jsonl", gzipped(t, []byte(smallCapture))},
	} {
		t.Run(f.name, func(t *testing.T) {
			s, err := OpenStream(writeFile(t, dir, f.name, f.data))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			d := NewDigester(s)
			c, err := Collect(d)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ReadCapture(strings.NewReader(smallCapture))
			if len(c.Events) != 8 || c.Header != want.Header {
				t.Fatalf("read %d events, header %+v", len(c.Events), c.Header)
			}
			// The digest taken while streaming is CaptureDigest's.
			if d.Sum() != CaptureDigest(want) {
				t.Errorf("streamed digest %s, CaptureDigest %s", d.Sum(), CaptureDigest(want))
			}
		})
	}
}

func TestOpenStreamTruncatedGzipIsAnError(t *testing.T) {
	var big strings.Builder
	big.WriteString(`{"capture":"inplay/v1"}` + "\n")
	for i := range 20_000 {
		big.WriteString(`{"t_us":` + itoa(i) + `,"kind":"status","market":"m1","status":"open"}` + "\n")
	}
	gz := gzipped(t, []byte(big.String()))
	path := writeFile(t, t.TempDir(), "cut.jsonl.gz", gz[:len(gz)*2/3])
	s, err := OpenStream(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for {
		_, err = s.Next()
		if err != nil {
			break
		}
		n++
	}
	if err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after %d events: %v, want an unexpected EOF, never a short capture", n, err)
	}
	if !strings.Contains(err.Error(), "cut.jsonl.gz") || !strings.Contains(err.Error(), "line ") {
		t.Errorf("error %q does not name the file and the line", err)
	}
	// The same through OpenCapture.
	if _, err := OpenCapture(path); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("OpenCapture = %v, want unexpected EOF", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// badCapture has a good header, two good events, then problems on lines 3,
// 5 and 6.
const badCapture = `{"capture":"inplay/v1"}
{"t_us":1,"kind":"status","market":"m1","status":"open"}
{"t_us":2,"kind":"goal"}
{"t_us":3,"kind":"status","market":"m1","status":"closed"}
{"t_us":4,"kind":"bet","colour":"red"}
{"t_us":0,"kind":"status","market":"m1","status":"open"}
{"t_us":5,"kind":"result","market":"m1","winners":["home"]}
`

func TestCaptureReaderModes(t *testing.T) {
	path := writeFile(t, t.TempDir(), "bad.jsonl", []byte(badCapture))
	read := func(opts ...ReadOption) (*CaptureReader, []Event, error) {
		s, err := OpenStream(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var got []Event
		for {
			e, err := s.Next()
			if err != nil {
				return s, got, err
			}
			got = append(got, e)
		}
	}
	t.Run("by default the first bad line ends it, naming file and line", func(t *testing.T) {
		_, got, err := read()
		var ce *herr.Error
		if len(got) != 1 || !errors.As(err, &ce) || !strings.Contains(err.Error(), "bad.jsonl") || !strings.Contains(err.Error(), `line 3: unknown kind "goal"`) {
			t.Fatalf("%d events, then %v", len(got), err)
		}
	})
	t.Run("skip bad lines and count them", func(t *testing.T) {
		s, got, err := read(SkipBad())
		if err != io.EOF || len(got) != 3 || s.Skipped() != 3 {
			t.Fatalf("%d events, %d skipped, %v; want 3, 3, EOF", len(got), s.Skipped(), err)
		}
		if got[2].Kind != KindResult {
			t.Errorf("last event %+v", got[2])
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		_, _, err := read(AllProblems())
		var ce *herr.Error
		if !errors.As(err, &ce) || len(ce.Problems) != 3 {
			t.Fatalf("%v, want 3 problems", err)
		}
		for _, w := range []string{"line 3:", `line 5: bad JSON: unknown field "colour"`, "line 6: t_us 0 goes backwards"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	})
	t.Run("a bad header is an error even when skipping", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "h.jsonl", []byte(`{"capture":"inplay/v9"}`+"\n"))
		if _, err := OpenStream(p, SkipBad()); err == nil || !strings.Contains(err.Error(), "h.jsonl") {
			t.Fatalf("OpenStream = %v, want an error naming the file", err)
		}
	})
	t.Run("a line too long is skipped and counted", func(t *testing.T) {
		in := `{"capture":"inplay/v1"}` + "\n" + strings.Repeat("x", MaxCaptureLine+10) + "\n" + `{"t_us":1,"kind":"status","market":"m","status":"open"}` + "\n"
		s, err := NewCaptureReader(strings.NewReader(in), "", SkipBad())
		if err != nil {
			t.Fatal(err)
		}
		c, err := Collect(s)
		if err != nil || len(c.Events) != 1 || s.Skipped() != 1 {
			t.Fatalf("Collect = %v, %v; skipped %d", c, err, s.Skipped())
		}
	})
}

func FuzzCaptureReaderSkipBad(f *testing.F) {
	f.Add([]byte(badCapture))
	f.Add([]byte(smallCapture))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewCaptureReader(bytes.NewReader(data), "fuzz", SkipBad())
		if err != nil {
			return // a bad header
		}
		var prev int64
		for {
			e, err := s.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("skipping reader of a byte slice failed: %v", err)
			}
			// Whatever it hands out is valid and in order.
			if e.Validate() != nil || e.T < prev {
				t.Fatalf("handed out %+v after t_us %d", e, prev)
			}
			prev = e.T
		}
	})
}

func TestAppendJournalEntryMatchesJSON(t *testing.T) {
	entries := []JournalEntry{
		{},
		{Seq: 1, Kind: KindBet, ID: "b<1>&", Account: "a\u2028", Market: "m", Selection: "é", Odds: "2.5", Policy: "better", Stake: 100, PendingUS: 4,
			Clone: 2, IntendedUS: 5, SentUS: 6, DoneUS: 9, Outcome: OutcomeRejected, Code: "EPRICECHANGED", HTTPStatus: 409, Error: "bad \"x\"\n\t\b\f\x01\xff"},
		{Seq: 2, Kind: KindResult, Market: "m", Winners: []string{"home", "a\\b"}, FeedSeq: 7, Outcome: OutcomePublished, IntendedUS: -3},
		{Seq: 3, Kind: KindDeposit, Amount: -1, Winners: []string{}, Outcome: OutcomeDropped},
		{Seq: 4, Kind: KindStatus, Market: "m", Status: "suspended", InPlay: new(true), BetDelayMS: new(int64(5000)), FeedSeq: 8, Outcome: OutcomePublished},
		{Seq: 5, Kind: KindStatus, Market: "m", Status: "open", InPlay: new(false), BetDelayMS: new(int64(0)), Outcome: OutcomePublished},
		// A corrected result: dead-heat factors (keys sorted, escaped) and a void factor.
		{Seq: 6, Kind: KindResult, Market: "m", Winners: []string{"z", "a<b"}, DeadHeat: map[string]string{"z": "0.5", "a<b": "0.5", `\\u`: "1"},
			VoidFactor: "0.25", FeedSeq: 9, Outcome: OutcomePublished},
		// An empty map is left out, as encoding/json's omitempty does.
		{Seq: 7, Kind: KindRollback, Market: "m", DeadHeat: map[string]string{}, FeedSeq: 10, Outcome: OutcomePublished},
	}
	for _, e := range entries {
		checkJournalEncoding(t, e)
	}
}

func checkJournalEncoding(t *testing.T, e JournalEntry) {
	t.Helper()
	want, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJournalEntry(nil, &e); !bytes.Equal(got, want) {
		t.Fatalf("appendJournalEntry\n%s\nencoding/json\n%s", got, want)
	}
}

func FuzzAppendJournalEntry(f *testing.F) {
	f.Add("b-1", "a<7>", "x\u2029\xfe", int64(3), 0)
	f.Fuzz(func(t *testing.T, id, account, errText string, n int64, clone int) {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		e := JournalEntry{Seq: n, Kind: Kind(id), ID: id, Account: account, Error: errText, Clone: clone,
			Stake: r.Int64() - r.Int64(), IntendedUS: n, Outcome: Outcome(errText)}
		if r.IntN(2) == 0 {
			e.Winners = []string{account, errText}
		}
		if r.IntN(2) == 0 {
			e.DeadHeat = map[string]string{account: errText, id: account}
			e.VoidFactor = errText
		}
		checkJournalEncoding(t, e)
	})
}
