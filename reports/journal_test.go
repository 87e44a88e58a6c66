package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// journalFile writes entries as journal.jsonl lines, in the given order.
func journalFile(t *testing.T, entries []replay.JournalEntry) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadJournalGivesSeqOrder(t *testing.T) {
	// Written in completion order, as the engine writes it.
	var entries []replay.JournalEntry
	for _, seq := range []int64{2, 3, 1, 6, 4, 5, 9, 7, 8} {
		entries = append(entries, replay.JournalEntry{Seq: seq, Kind: replay.KindBet, Outcome: replay.OutcomeAccepted})
	}
	var got []int64
	for e, err := range JournalFile(journalFile(t, entries))() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Seq)
	}
	if !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("seqs %v", got)
	}
}

func TestReadJournalSad(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"unknown field", `{"seq":1,"kind":"bet","outcome":"accepted","intended_us":0,"colour":1}`, `j.jsonl line 1: bad JSON: unknown field "colour"`},
		{"a repeated seq", `{"seq":1,"kind":"bet","outcome":"accepted","intended_us":0}` + "\n" + `{"seq":1,"kind":"bet","outcome":"accepted","intended_us":0}`, "seq 1 repeats"},
		{"not JSON", `seq=1`, "j.jsonl line 1: bad JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			for _, err = range ReadJournal(strings.NewReader(tc.in), "j.jsonl") {
				if err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEvaluateFromAJournalFile(t *testing.T) {
	// The same verdict, report field for field, whether the journal is
	// held or read back from journal.jsonl in completion order.
	in := goodInput()
	held := Evaluate(in)
	shuffled := append([]replay.JournalEntry(nil), in.Journal...)
	for i := range shuffled {
		shuffled[i].Seq = int64(i + 1)
	}
	in.Journal = append([]replay.JournalEntry(nil), shuffled...)
	held = Evaluate(in)
	// Reverse pairs: out of order, as answers come.
	for i := 0; i+1 < len(shuffled); i += 2 {
		shuffled[i], shuffled[i+1] = shuffled[i+1], shuffled[i]
	}
	streamed := in
	streamed.Journal = nil
	streamed.JournalFrom = JournalFile(journalFile(t, shuffled))
	got := Evaluate(streamed)
	a, _ := json.Marshal(held)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("held journal:\n%s\nstreamed journal:\n%s", a, b)
	}

	// A journal that cannot be read makes the run invalid, saying why.
	streamed.JournalFrom = JournalFile(filepath.Join(t.TempDir(), "missing.jsonl"))
	bad := Evaluate(streamed)
	if bad.Verdict != VerdictInvalid || !strings.Contains(strings.Join(bad.Problems, "\n"), "reading the journal") {
		t.Fatalf("verdict %s, problems %v", bad.Verdict, bad.Problems)
	}
}

func TestDrainedJournalErrorsNameTheFile(t *testing.T) {
	path := journalFile(t, nil)
	if err := os.WriteFile(path, []byte(`{"seq":1,"kind":"bet","outcome":"accepted","intended_us":0}`+"\n"+`{"seq":"x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, err := range JournalFile(path)() {
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), path+" line 2") {
			t.Fatalf("error %v does not name %s line 2", err, path)
		}
		return
	}
	t.Fatal("no error")
}

func FuzzReadJournal(f *testing.F) {
	f.Add([]byte(`{"seq":2,"kind":"bet","outcome":"accepted","intended_us":0}` + "\n" + `{"seq":1,"kind":"odds","outcome":"published","intended_us":0,"feed_seq":1}` + "\n"))
	f.Add([]byte("{}\n\n{\"seq\":3}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var last int64
		for e, err := range ReadJournal(bytes.NewReader(data), "fuzz") {
			if err != nil {
				return
			}
			if e.Seq <= last {
				t.Fatalf("seq %d after %d", e.Seq, last)
			}
			last = e.Seq
		}
	})
}
