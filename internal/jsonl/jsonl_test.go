package jsonl

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

type rec struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
}

func lines(t *testing.T, in string, opts Options) ([]string, []error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), "f.jsonl", opts)
	var got []string
	var errs []error
	for {
		b, err := r.Next()
		if err == io.EOF {
			return got, errs
		}
		if err != nil {
			errs = append(errs, err)
			var le *Error
			if errors.As(err, &le) && le.TooLong {
				continue
			}
			return got, errs
		}
		got = append(got, string(b))
	}
}

func TestReaderLines(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty input", "", nil},
		{"one line", "{}\n", []string{"{}"}},
		{"no final newline", "{}\n{\"a\":1}", []string{"{}", `{"a":1}`}},
		{"CRLF endings", "{}\r\n{}\r\n", []string{"{}", "{}"}},
		{"blank lines are lines", "\n\n{}\n", []string{"", "", "{}"}},
		{"a line longer than bufio's buffer", strings.Repeat("x", 100_000) + "\n{}\n", []string{strings.Repeat("x", 100_000), "{}"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := lines(t, tc.in, Options{})
			if len(errs) > 0 || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("lines %q, errors %v; want %q", got, errs, tc.want)
			}
		})
	}
}

func TestReaderTooLongGoesOn(t *testing.T) {
	in := "{}\n" + strings.Repeat("x", 200_000) + "\n{\"a\":2}\n" + strings.Repeat("y", 11)
	got, errs := lines(t, in, Options{MaxLine: 10})
	if len(got) != 2 || got[1] != `{"a":2}` {
		t.Fatalf("lines %q", got)
	}
	if len(errs) != 2 {
		t.Fatalf("errors %v, want two too-long lines", errs)
	}
	for i, want := range []string{"f.jsonl line 2: longer than 10 bytes", "f.jsonl line 4: longer than 10 bytes"} {
		if errs[i].Error() != want {
			t.Errorf("error %q, want %q", errs[i], want)
		}
	}
	// Exactly the maximum is fine, with or without "\r\n".
	if got, errs := lines(t, "0123456789\r\n0123456789", Options{MaxLine: 10}); len(got) != 2 || len(errs) != 0 {
		t.Fatalf("lines at the maximum: %q, %v", got, errs)
	}
}

func TestReaderReadErrorNamesTheLine(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(`{"a":1}`+"\n", 1000)))
	zw.Close()
	truncated := gz.Bytes()[:gz.Len()/2]
	zr, err := gzip.NewReader(bytes.NewReader(truncated))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(zr, "cut.jsonl.gz", Options{})
	var v rec
	n := 0
	for {
		err = r.Decode(&v)
		if err != nil {
			break
		}
		n++
	}
	if err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after %d lines: %v, want unexpected EOF", n, err)
	}
	if !strings.Contains(err.Error(), "cut.jsonl.gz line ") {
		t.Errorf("error %q does not name the file and line", err)
	}
	if err2 := r.Decode(&v); err2 != err {
		t.Errorf("a second call gave %v, want the same error", err2)
	}
}

func TestDecodeStrict(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string // the error, or "" for none
	}{
		{"fine", `{"a":1,"b":"x"}`, ""},
		{"unknown field", `{"a":1,"c":2}`, `f.jsonl line 1: bad JSON: unknown field "c"`},
		{"two objects", `{"a":1} {"a":2}`, "f.jsonl line 1: bad JSON: more data after the object"},
		{"not JSON", `a=1`, "f.jsonl line 1: bad JSON: invalid character"},
		{"wrong type", `{"a":"one"}`, "f.jsonl line 1: bad JSON: cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v rec
			err := NewReader(strings.NewReader(tc.in), "f.jsonl", Options{}).Decode(&v)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSkipBadCounts(t *testing.T) {
	in := "{\"a\":1}\n\n{\"z\":1}\nnope\n" + strings.Repeat("x", 50) + "\n{\"a\":2}\n"
	r := NewReader(strings.NewReader(in), "", Options{SkipBad: true, MaxLine: 20})
	var sum int
	for {
		var v rec
		err := r.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sum += v.A
	}
	if sum != 3 || r.Skipped() != 3 {
		t.Fatalf("sum %d, skipped %d; want 3 and 3 (blank lines are not bad)", sum, r.Skipped())
	}
	if err := r.Fail("x"); err != nil || r.Skipped() != 4 {
		t.Fatalf("Fail with SkipBad: %v, skipped %d", err, r.Skipped())
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":\"x\"}\r\n\n"), 8)
	f.Add([]byte(strings.Repeat("x", 70_000)+"\n{}"), 100)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		max = (max%200+200)%200 + 1
		r := NewReader(bytes.NewReader(data), "fuzz", Options{MaxLine: max})
		n := 0
		for {
			b, err := r.Next()
			if err == io.EOF {
				break
			}
			var le *Error
			if err != nil && !(errors.As(err, &le) && le.TooLong) {
				t.Fatalf("error %v reading a byte slice", err)
			}
			if err == nil && len(b) > max {
				t.Fatalf("line of %d bytes with a maximum of %d", len(b), max)
			}
			n++
			if n > len(data)+1 {
				t.Fatal("more lines than bytes")
			}
		}
		if want := bytes.Count(data, []byte{'\n'}); n < want || n > want+1 {
			t.Fatalf("%d lines from %d newlines", n, want)
		}
	})
}
