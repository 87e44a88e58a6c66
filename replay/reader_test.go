package replay

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/internal/herr"
)

// smallCapture is a valid capture touching every kind.
const smallCapture = `{"capture":"inplay/v1","name":"smoke","source":"synth","seed":7,"duration_us":240000000}
{"t_us":0,"kind":"odds","market":"m1","prices":{"away":"3.80","draw":"3.40","home":"2.10"}}
{"t_us":0,"kind":"status","market":"m1","status":"open"}
{"t_us":100,"kind":"deposit","account":"a1","id":"d-1","amount":10000}
{"t_us":200,"kind":"bet","market":"m1","account":"a1","id":"b-1","selection":"home","odds":"2.10","stake":500}
{"t_us":200,"kind":"cashout","account":"a1","id":"c-1","bet":"b-1","amount":450}
{"t_us":300,"kind":"withdraw","account":"a1","id":"w-1","amount":100}
{"t_us":400,"kind":"status","market":"m1","status":"closed"}
{"t_us":500,"kind":"result","market":"m1","winners":["home"]}
`

func TestReadCaptureHappy(t *testing.T) {
	c, err := ReadCapture(strings.NewReader(smallCapture))
	if err != nil {
		t.Fatalf("ReadCapture: %v", err)
	}
	if c.Header.Name != "smoke" || c.Header.Seed != 7 || c.Header.DurationUS != 240_000_000 {
		t.Errorf("header = %+v", c.Header)
	}
	if len(c.Events) != 8 {
		t.Fatalf("%d events, want 8", len(c.Events))
	}
	bet := c.Events[3]
	want := Event{T: 200, Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500}
	if !reflect.DeepEqual(bet, want) {
		t.Errorf("bet = %+v, want %+v", bet, want)
	}
	// The canonical form of a canonical file is the file itself.
	var buf bytes.Buffer
	if err := WriteCapture(&buf, c); err != nil {
		t.Fatalf("WriteCapture: %v", err)
	}
	if buf.String() != smallCapture {
		t.Errorf("WriteCapture changed a canonical capture:\n%s", buf.String())
	}
}

func TestReadCaptureSad(t *testing.T) {
	const header = `{"capture":"inplay/v1"}` + "\n"
	cases := []struct {
		name string
		in   string
		want []string // substrings of the error, each with its line
	}{
		{"empty input", "", []string{"line 1: empty capture"}},
		{"wrong version", `{"capture":"inplay/v2"}` + "\n", []string{`line 1: header: capture is "inplay/v2"`}},
		{"unknown header field", `{"capture":"inplay/v1","speed":4}` + "\n", []string{`line 1: header: bad JSON: unknown field "speed"`}},
		{"unknown event field", header + `{"t_us":1,"kind":"status","market":"m1","status":"open","colour":"red"}`, []string{`line 2: bad JSON: unknown field "colour"`}},
		{"unknown kind", header + `{"t_us":1,"kind":"goal"}`, []string{`line 2: unknown kind "goal"`}},
		{"missing field", header + `{"t_us":1,"kind":"deposit","account":"a1","amount":5}`, []string{"line 2: deposit event lacks id"}},
		{"bad odds", header + `{"t_us":1,"kind":"odds","market":"m1","prices":{"home":"2.5x"}}`, []string{`line 2: prices["home"]: odds "2.5x"`}},
		{"non-positive stake", header + `{"t_us":1,"kind":"bet","account":"a","id":"b","market":"m","selection":"s","odds":"2","stake":-1}`, []string{"line 2: stake -1 is not positive"}},
		{"zero amount", header + `{"t_us":1,"kind":"withdraw","account":"a","id":"w","amount":0}`, []string{"line 2: withdraw event lacks a positive amount"}},
		{"time goes backwards", header + `{"t_us":5,"kind":"status","market":"m1","status":"open"}` + "\n" + `{"t_us":4,"kind":"status","market":"m1","status":"closed"}`, []string{"line 3: t_us 4 goes backwards"}},
		{"not JSON", header + `t_us=1`, []string{"line 2: bad JSON"}},
		{"two objects on a line", header + `{"t_us":1,"kind":"status","market":"m","status":"open"} {}`, []string{"line 2: bad JSON: more data"}},
		{"wrong type", header + `{"t_us":"soon","kind":"status","market":"m","status":"open"}`, []string{"line 2: bad JSON"}},
		{"empty line", header + "\n" + `{"t_us":1,"kind":"status","market":"m","status":"open"}`, []string{"line 2: empty line"}},
		{"line too long", header + strings.Repeat("x", MaxCaptureLine+1), []string{"line 2: longer than"}},
		{"every problem at once", `{"capture":"x"}` + "\n" + `{"kind":"nope"}` + "\n" + `{"t_us":1,"kind":"bet"}`, []string{"line 1:", "line 2: unknown kind", "line 3: bet event lacks account", "line 3: bet event lacks odds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadCapture(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("ReadCapture = %+v, want an error", c)
			}
			var ce *herr.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *herr.Error", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCaptureErrorListsTwentyThenCounts(t *testing.T) {
	in := `{"capture":"inplay/v1"}` + "\n" + strings.Repeat(`{"t_us":1,"kind":"goal"}`+"\n", 1500)
	_, err := ReadCapture(strings.NewReader(in))
	var ce *herr.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *herr.Error", err)
	}
	if len(ce.Problems)+ce.Omitted != 1500 || len(ce.Problems) != keptProblems {
		t.Errorf("kept %d, omitted %d; want 1500 in all, %d kept", len(ce.Problems), ce.Omitted, keptProblems)
	}
	msg := err.Error()
	if n := strings.Count(msg, "unknown kind"); n != listedProblems {
		t.Errorf("message lists %d problems, want %d", n, listedProblems)
	}
	if !strings.Contains(msg, "1500 problems") || !strings.Contains(msg, "and 1480 more") {
		t.Errorf("message does not count the rest: %q", msg[:200])
	}
}

func TestOpenCapture(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte(smallCapture)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"plain.jsonl", []byte(smallCapture)},     // as written
		{"named.jsonl.gz", gz.Bytes()},            // gunzipped for its name
		{"sniffed.jsonl", gz.Bytes()},             // gunzipped for its magic bytes
		{"bad.jsonl.gz", []byte(smallCapture)},    // named .gz but is not: an error
		{"broken.jsonl", []byte(`{"capture":1}`)}, // a CaptureError, wrapped
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"plain.jsonl", "named.jsonl.gz", "sniffed.jsonl"} {
		t.Run(name, func(t *testing.T) {
			c, err := OpenCapture(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("OpenCapture: %v", err)
			}
			if len(c.Events) != 8 {
				t.Errorf("%d events, want 8", len(c.Events))
			}
		})
	}
	t.Run("named .gz but plain", func(t *testing.T) {
		if _, err := OpenCapture(filepath.Join(dir, "bad.jsonl.gz")); err == nil || !strings.Contains(err.Error(), "bad.jsonl.gz") {
			t.Fatalf("OpenCapture = %v, want an error naming the file", err)
		}
	})
	t.Run("broken content", func(t *testing.T) {
		_, err := OpenCapture(filepath.Join(dir, "broken.jsonl"))
		var ce *herr.Error
		if !errors.As(err, &ce) {
			t.Fatalf("OpenCapture = %v, want a *herr.Error", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := OpenCapture(filepath.Join(dir, "nope.jsonl")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("OpenCapture = %v, want ErrNotExist", err)
		}
	})
}

func TestWriteCaptureRefusesInvalid(t *testing.T) {
	c := &Capture{
		Header: Header{Capture: CaptureVersion},
		Events: []Event{
			{T: 10, Kind: KindStatus, Market: "m1", Status: StatusOpen},
			{T: 5, Kind: KindBet}, // backwards and incomplete
		},
	}
	var buf bytes.Buffer
	err := WriteCapture(&buf, c)
	var ce *herr.Error
	if !errors.As(err, &ce) {
		t.Fatalf("WriteCapture = %v, want a *herr.Error", err)
	}
	if !strings.Contains(err.Error(), "line 3: t_us 5 goes backwards") || !strings.Contains(err.Error(), "line 3: bet event lacks account") {
		t.Errorf("error %q does not name line 3's problems", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes of an invalid capture", buf.Len())
	}
}

func TestCaptureDigest(t *testing.T) {
	c, err := ReadCapture(strings.NewReader(smallCapture))
	if err != nil {
		t.Fatal(err)
	}
	// smallCapture is canonical, so the digest is sha256sum of its bytes.
	sum := sha256.Sum256([]byte(smallCapture))
	d1 := CaptureDigest(c)
	if want := hex.EncodeToString(sum[:]); d1 != want {
		t.Fatalf("CaptureDigest = %s, want %s", d1, want)
	}
	c.Events[3].Stake++
	if d2 := CaptureDigest(c); d2 == d1 {
		t.Error("digest did not change with the content")
	}
	c.Events[3].Stake--
	if d3 := CaptureDigest(c); d3 != d1 {
		t.Error("digest is not a function of the content")
	}
}

func FuzzReadCapture(f *testing.F) {
	f.Add([]byte(smallCapture))
	f.Add([]byte(`{"capture":"inplay/v1"}` + "\n" + `{"t_us":1,"kind":"result","market":"m1"}`))
	f.Add([]byte(`{"capture":"inplay/v1"}` + "\n" + `{"t_us":1,"kind":"odds","market":"m","prices":{"a":"1.01"}}` + "\n"))
	f.Add([]byte(`{"capture":"inplay/v1"}` + "\n" + `{"t_us":1,"kind":"result","market":"m1","winners":["a","b"],"dead_heat":{"a":"0.5"},"void_factor":"0.25"}` + "\n" + `{"t_us":2,"kind":"rollback","market":"m1"}`))
	f.Add([]byte("\x1f\x8b garbage"))
	f.Add([]byte(`{"capture":"inplay/v1"}` + "\n" + `null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadCapture(bytes.NewReader(data))
		if err != nil {
			var ce *herr.Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %v is not a *herr.Error with problems", err)
			}
			return
		}
		// Whatever reads must write, and read back the same.
		var buf bytes.Buffer
		if err := WriteCapture(&buf, c); err != nil {
			t.Fatalf("WriteCapture of a capture that read: %v", err)
		}
		c2, err := ReadCapture(&buf)
		if err != nil {
			t.Fatalf("re-reading the written capture: %v", err)
		}
		if CaptureDigest(c2) != CaptureDigest(c) {
			t.Fatal("a written capture reads back different")
		}
	})
}
