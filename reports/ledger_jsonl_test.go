package reports

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/internal/herr"
)

func TestJSONLRoundTrip(t *testing.T) {
	_, want := fixture()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := NewJSONLLedger(&buf).Ledger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the ledger:\n got %+v\nwant %+v", got, want)
	}
	// A void market keeps its empty winners; an open one has none.
	if w := got.Markets[2].Winners; w == nil || len(w) != 0 {
		t.Fatalf("void market winners %#v", w)
	}
}

func TestOpenJSONLLedger(t *testing.T) {
	_, want := fixture()
	dir := t.TempDir()
	var plain, zipped bytes.Buffer
	if err := WriteJSONL(&plain, want); err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain.Bytes())
	zw.Close()
	tests := []struct {
		name string
		data []byte
	}{
		{"plain", plain.Bytes()},    // as WriteJSONL writes it
		{"gzipped", zipped.Bytes()}, // sniffed by its magic bytes, whatever the name
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".jsonl")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := OpenJSONLLedger(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatal("ledger differs after reading the file")
			}
		})
	}
	if _, err := OpenJSONLLedger(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Fatal("a missing file gave no error")
	}
}

func TestReadJSONLStrict(t *testing.T) {
	const (
		acct = `{"type":"account","id":"a1","kind":"player","allow_negative":false,"balance":5}`
		tx   = `{"type":"transaction","id":1,"kind":"deposit","ref":"d1","created_at":"2026-11-29T09:00:00Z"}`
	)
	tests := []struct {
		name  string
		input string
		want  []string // substrings, each of some problem
	}{
		{"unknown type", `{"type":"wallet","id":"x"}`, []string{`line 1: type "wallet" is not one of`}},
		{"no type", `{"id":"x"}`, []string{`line 1: "type" is required`}},
		{"not JSON", `{"type":`, []string{"line 1: bad JSON"}},
		{"unknown field", `{"type":"account","id":"a1","kind":"player","allow_negative":false,"balance":5,"owner":"x"}`, []string{`line 1: bad JSON: unknown field "owner"`}},
		{"trailing data", acct + ` {}`, []string{"line 1: bad JSON: more data after the object"}},
		{"missing required field", `{"type":"account","id":"a1","kind":"player","allow_negative":false}`, []string{`line 1: account: "balance" is required`}},
		{"null counts as missing", `{"type":"account","id":"a1","kind":"player","allow_negative":null,"balance":5}`, []string{`line 1: account: "allow_negative" is required`}},
		{"bad enum", `{"type":"account","id":"a1","kind":"wallet","allow_negative":false,"balance":5}`, []string{`line 1: account: kind "wallet" is not one of: player, house, suspense, cash`}},
		{"empty id", `{"type":"account","id":"","kind":"player","allow_negative":false,"balance":5}`, []string{`line 1: account: "id" must not be empty`}},
		{"float money", `{"type":"account","id":"a1","kind":"player","allow_negative":false,"balance":5.5}`, []string{"line 1: bad JSON"}},
		{"zero posting", `{"type":"posting","id":1,"tx_id":1,"account":"a1","amount":0}`, []string{`line 1: posting: "amount" must not be 0`}},
		{"non-positive tx id", `{"type":"transaction","id":0,"kind":"deposit","ref":"d1","created_at":"2026-11-29T09:00:00Z"}`, []string{`line 1: transaction: "id" must be positive`}},
		{"bad time", `{"type":"transaction","id":1,"kind":"deposit","ref":"d1","created_at":"yesterday"}`, []string{"line 1: bad JSON"}},
		{"bad bet status", `{"type":"bet","id":"b","account":"a","market":"m","selection":"s","stake":1,"odds_e4":20000,"status":"pending","payout":0,"placed_at":"2026-11-29T09:00:00Z"}`, []string{`bet: status "pending" is not one of`}},
		{"winners on an open market", `{"type":"market","id":"m","status":"open","winners":["home"],"resulted":false}`, []string{`market: "winners" is set but "resulted" is false`}},
		{"duplicate account", acct + "\n" + acct, []string{"line 2: account a1 repeats the one on line 1"}},
		{"duplicate transaction", tx + "\n\n" + tx, []string{"line 3: transaction 1 repeats the one on line 1"}},
		{"every problem at once", "nope\n" + acct + "\n" + `{"type":"posting"}`, []string{
			"line 1: bad JSON", `line 3: posting: "id" is required`, `line 3: posting: "tx_id" is required`,
			`line 3: posting: "account" is required`, `line 3: posting: "amount" is required`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSONL(strings.NewReader(tc.input))
			var le *herr.Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a *herr.Error", err)
			}
			if le.Code != herr.EINPUT || le.Source != LedgerSourceName {
				t.Fatalf("code %s, source %q", le.Code, le.Source)
			}
			for _, w := range tc.want {
				found := false
				for _, p := range le.Problems {
					found = found || strings.Contains(p, w)
				}
				if !found {
					t.Errorf("problems %q lack %q", le.Problems, w)
				}
			}
		})
	}
}

func TestReadJSONLAccepts(t *testing.T) {
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, l *Ledger)
	}{
		// Blank lines carry nothing.
		{"empty input", "\n\n", func(t *testing.T, l *Ledger) {
			if len(l.Accounts)+len(l.Bets) != 0 {
				t.Fatalf("%+v", l)
			}
		}},
		// A resulted market written by json.Marshal of Market omits empty
		// winners: it is a void.
		{"resulted without winners is void", `{"type":"market","id":"m","status":"settled","resulted":true}`, func(t *testing.T, l *Ledger) {
			if m := l.Markets[0]; !m.Resulted || m.Winners == nil || len(m.Winners) != 0 {
				t.Fatalf("%+v", m)
			}
		}},
		// A repeated bet id is the reconciler's to report, not the reader's.
		{"repeated bet ids are kept", strings.Repeat(`{"type":"bet","id":"b","account":"a","market":"m","selection":"s","stake":1,"odds_e4":20000,"status":"accepted","payout":0,"placed_at":"2026-11-29T09:00:00Z"}`+"\n", 2), func(t *testing.T, l *Ledger) {
			if len(l.Bets) != 2 {
				t.Fatalf("%d bets", len(l.Bets))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadJSONL(strings.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, l)
		})
	}
}

func TestReadJSONLLineTooLong(t *testing.T) {
	long := `{"type":"account","id":"` + strings.Repeat("x", MaxLedgerLine) + `"}`
	_, err := ReadJSONL(strings.NewReader(long))
	var le *herr.Error
	if !errors.As(err, &le) || !strings.Contains(le.Error(), "line 1: longer than") {
		t.Fatalf("error %v", err)
	}
}

// FuzzJSONLLedger checks that the reader never panics, and that whatever
// it accepts is written back to a form it reads to the same bytes again.
func FuzzJSONLLedger(f *testing.F) {
	_, l := fixture()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, l); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"type":"market","id":"m","status":"settled","resulted":true}`))
	f.Add([]byte(`{"type":"account","id":"a1","kind":"player","allow_negative":false,"balance":-9223372036854775808}`))
	f.Add([]byte("{\"type\":\"bet\"}\n\n[1,2]\n"))
	f.Add([]byte(`{"type":"transaction","id":1,"kind":"deposit","ref":"d1","created_at":"0000-01-01T00:00:00+01:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ReadJSONL(bytes.NewReader(data))
		if err != nil {
			var le *herr.Error
			if errors.As(err, &le) && len(le.Problems) == 0 {
				t.Fatal("an error with no problem")
			}
			return
		}
		var first bytes.Buffer
		if err := WriteJSONL(&first, l); err != nil {
			return // a time the reader accepts but JSON cannot write back (year out of range)
		}
		again, err := ReadJSONL(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("cannot read back what was written: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := WriteJSONL(&second, again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("not a fixed point:\n%s\n%s", first.Bytes(), second.Bytes())
		}
	})
}
