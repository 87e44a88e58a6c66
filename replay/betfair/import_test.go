package betfair

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// def is an mcm line with a market definition for market 1.1: status,
// inPlay, betDelay, and runners as "id:STATUS" or "id:STATUS:factor".
func def(pt int64, status string, inPlay bool, betDelay int, runners ...string) string {
	return defFor("1.1", pt, status, inPlay, betDelay, "", runners...)
}

func defFor(market string, pt int64, status string, inPlay bool, betDelay int, extra string, runners ...string) string {
	var rs []string
	for _, r := range runners {
		parts := strings.Split(r, ":")
		s := fmt.Sprintf(`{"id":%s,"status":%q`, parts[0], parts[1])
		if len(parts) > 2 {
			s += `,"adjustmentFactor":` + parts[2]
		}
		rs = append(rs, s+"}")
	}
	return fmt.Sprintf(`{"op":"mcm","clk":"x","pt":%d,"mc":[{"id":%q,"marketDefinition":{"status":%q,"inPlay":%v,"betDelay":%d,"runners":[%s]%s,"someNewField":{"a":1}}}]}`,
		pt, market, status, inPlay, betDelay, strings.Join(rs, ","), extra)
}

// rc is an mcm line with runner changes (JSON objects without braces) for
// market 1.1.
func rc(pt int64, changes ...string) string {
	return rcFor("1.1", pt, false, changes...)
}

func rcFor(market string, pt int64, img bool, changes ...string) string {
	for i, c := range changes {
		changes[i] = "{" + c + "}"
	}
	return fmt.Sprintf(`{"op":"mcm","pt":%d,"mc":[{"id":%q,"img":%v,"rc":[%s]}]}`, pt, market, img, strings.Join(changes, ","))
}

// prices is the prices of every odds event, in order.
func pricesOf(c *replay.Capture) []map[string]string {
	var out []map[string]string
	for _, e := range ofKind(c, replay.KindOdds) {
		out = append(out, e.Prices)
	}
	return out
}

func TestDeltasAndImages(t *testing.T) {
	path := writeFile(t, "m.jsonl", lines(
		def(1000, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
		rc(1001, `"id":7,"atb":[[2,10],[2.2,5]]`, `"id":8,"atb":[[3,1]]`),
		rc(1002, `"id":7,"atb":[[2.4,1]]`),                 // a better price
		rc(1003, `"id":7,"atb":[[2.4,0]]`),                 // deleted: back to 2.2
		rc(1004, `"id":7,"atl":[[2.5,3]],"tv":99`),         // nothing shown changes
		rcFor("1.1", 1005, true, `"id":7,"atb":[[1.5,3]]`), // img: 2 and 2.2 are gone, and so is 8's book
		rc(1006, `"id":7,"atb":[[1.5,0]]`),                 // empty book, no ltp: nothing to show
		rc(1007, `"id":7,"ltp":1.6`, `"id":8,"ltp":3.1`),
		rc(1008, `"id":7,"batb":[[0,1.7,2]]`), // batb level 0 wins over the rest
		rc(1009, `"id":7,"batb":[[0,0,0]]`),   // deleted: back to ltp
	))
	c, _ := importAll(t, []string{path}, Options{})
	want := []map[string]string{
		{"7": "2.2", "8": "3"},
		{"7": "2.4"},
		{"7": "2.2"},
		{"7": "1.5"},
		{"7": "1.6", "8": "3.1"},
		{"7": "1.7"},
		{"7": "1.6"},
	}
	if got := pricesOf(c); !reflect.DeepEqual(got, want) {
		t.Errorf("odds\n got %v\nwant %v", got, want)
	}
	for _, e := range ofKind(c, replay.KindOdds) {
		if e.VendorMS == 1004 || e.VendorMS == 1006 {
			t.Errorf("an odds event at %d, where no shown price changed", e.VendorMS)
		}
	}
}

func TestStatusEvents(t *testing.T) {
	path := writeFile(t, "m.jsonl", lines(
		`{"op":"connection","connectionId":"x"}`,
		def(1000, "INACTIVE", false, 0, "7:ACTIVE:60.5", "8:ACTIVE:39.5"),
		def(1001, "OPEN", false, 0, "7:ACTIVE:60.5", "8:ACTIVE:39.5"),
		def(1002, "OPEN", false, 0, "7:ACTIVE:60.5", "8:ACTIVE:39.5"), // nothing the capture holds changed
		def(1003, "OPEN", false, 0, "7:ACTIVE:75", "8:REMOVED:25.001"),
		def(1004, "SUSPENDED", false, 0, "7:ACTIVE:75", "8:REMOVED:25.001"),
		def(1005, "OPEN", true, 5, "7:ACTIVE:75", "8:REMOVED:25.001"),
		def(1006, "OPEN", false, 0, "7:ACTIVE:75", "8:REMOVED:25.001"), // back out of play
		`{"op":"heartbeat","pt":1007}`,
		`{"op":"status","statusCode":"SUCCESS"}`,
	))
	c, st := importAll(t, []string{path}, Options{})
	type s struct {
		status  string
		inPlay  string
		delay   string
		removed []string
		adjust  map[string]string
	}
	str := func(b *bool) string {
		if b == nil {
			return "-"
		}
		return fmt.Sprint(*b)
	}
	num := func(n *int64) string {
		if n == nil {
			return "-"
		}
		return fmt.Sprint(*n)
	}
	var got []s
	for _, e := range ofKind(c, replay.KindStatus) {
		got = append(got, s{e.Status, str(e.InPlay), num(e.BetDelayMS), e.Removed, e.Adjust})
	}
	a1 := map[string]string{"7": "60.5", "8": "39.5"}
	a2 := map[string]string{"7": "75", "8": "25.001"}
	want := []s{
		{"suspended", "-", "-", nil, a1}, // INACTIVE
		{"open", "-", "-", nil, a1},
		{"open", "-", "-", []string{"8"}, a2},
		{"suspended", "-", "-", []string{"8"}, a2},
		{"open", "true", "5000", []string{"8"}, a2},
		{"open", "false", "0", []string{"8"}, a2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status events\n got %+v\nwant %+v", got, want)
	}
	wantOps := map[string]int64{"mcm": 7, "connection": 1, "heartbeat": 1, "status": 1}
	if !reflect.DeepEqual(st.Messages, wantOps) || st.Markets != 1 {
		t.Errorf("messages %v markets %d, want %v and 1", st.Messages, st.Markets, wantOps)
	}
}

func TestResults(t *testing.T) {
	settled := `,"settledTime":"2022-07-11T14:47:01.000Z"`
	tests := []struct {
		name  string
		lines []string
		want  [][]string // winners of each result, in order
	}{
		{"one winner", []string{
			def(1, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
			defFor("1.1", 2, "CLOSED", true, 0, settled, "7:WINNER", "8:LOSER"),
		}, [][]string{{"7"}}},
		{"a dead heat", []string{
			def(1, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE", "9:ACTIVE"),
			defFor("1.1", 2, "CLOSED", true, 0, settled, "7:WINNER", "8:WINNER", "9:LOSER"),
		}, [][]string{{"7", "8"}}},
		{"void: settled with no winner", []string{
			def(1, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
			defFor("1.1", 2, "CLOSED", true, 0, settled, "7:LOSER", "8:REMOVED"),
		}, [][]string{{}}},
		{"closed, settled later", []string{
			def(1, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
			def(2, "CLOSED", true, 0, "7:ACTIVE", "8:ACTIVE"),
			defFor("1.1", 3, "CLOSED", true, 0, settled, "7:LOSER", "8:WINNER"),
			defFor("1.1", 4, "CLOSED", true, 0, settled, "7:LOSER", "8:WINNER"), // repeated: no second result
		}, [][]string{{"8"}}},
		{"closed with runners unsettled and no settledTime: no result", []string{
			def(1, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
			def(2, "CLOSED", true, 0, "7:LOSER", "8:LOSER"),
		}, nil},
		{"the file ends before the close: no result", []string{
			def(1, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
			def(2, "SUSPENDED", true, 0, "7:WINNER", "8:LOSER"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := importAll(t, []string{writeFile(t, "m.jsonl", lines(tt.lines...))}, Options{})
			var got [][]string
			for _, e := range ofKind(c, replay.KindResult) {
				got = append(got, append([]string{}, e.Winners...))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("results %v, want %v", got, tt.want)
			}
			// A result comes right after the closed status event.
			for i, e := range c.Events {
				if e.Kind == replay.KindResult && (i == 0 || c.Events[i-1].Kind != replay.KindStatus || c.Events[i-1].Status != replay.StatusClosed) {
					t.Errorf("result at %d not after a closed status: %+v", i, c.Events)
				}
			}
		})
	}
}

func TestHandicapSelections(t *testing.T) {
	path := writeFile(t, "ah.jsonl", lines(
		`{"op":"mcm","pt":1,"mc":[{"id":"1.1","marketDefinition":{"status":"OPEN","runners":[{"id":47972,"hc":-1.5,"status":"ACTIVE"},{"id":47972,"hc":1.5,"status":"ACTIVE"},{"id":47973,"status":"ACTIVE"}]}}]}`,
		rc(2, `"id":47972,"hc":-1.5,"atb":[[1.9,1]]`, `"id":47972,"hc":1.5,"atb":[[2.1,1]]`, `"id":47973,"hc":0,"ltp":3`),
	))
	c, _ := importAll(t, []string{path}, Options{})
	want := []map[string]string{{"47972@-1.5": "1.9", "47972@1.5": "2.1", "47973": "3"}}
	if got := pricesOf(c); !reflect.DeepEqual(got, want) {
		t.Errorf("odds %v, want %v", got, want)
	}
}

func TestMergeKeepsFileOrderOnTies(t *testing.T) {
	a := writeFile(t, "a.jsonl", lines(
		defFor("1.A", 100, "OPEN", false, 0, "", "1:ACTIVE"),
		rcFor("1.A", 300, false, `"id":1,"ltp":2`),
		rcFor("1.A", 300, false, `"id":1,"ltp":3`),
	))
	b := writeFile(t, "b.jsonl", lines(
		defFor("1.B", 100, "OPEN", false, 0, "", "1:ACTIVE"),
		rcFor("1.B", 200, false, `"id":1,"ltp":4`),
		rcFor("1.B", 300, false, `"id":1,"ltp":5`),
	))
	c, _ := importAll(t, []string{a, b}, Options{})
	var got []string
	for _, e := range c.Events {
		got = append(got, fmt.Sprintf("%d %s %s %v", e.T/1000, e.Market, e.Kind, e.Prices))
	}
	want := []string{
		"0 1.A status map[]", "0 1.B status map[]",
		"100 1.B odds map[1:4]",
		"200 1.A odds map[1:2]", "200 1.A odds map[1:3]", "200 1.B odds map[1:5]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("merged\n got %q\nwant %q", got, want)
	}
}

func TestBackwardsPTHoldsTime(t *testing.T) {
	path := writeFile(t, "m.jsonl", lines(
		def(1000, "OPEN", false, 0, "7:ACTIVE"),
		rc(2000, `"id":7,"ltp":2`),
		rc(1500, `"id":7,"ltp":3`),
	))
	c, st := importAll(t, []string{path}, Options{})
	odds := ofKind(c, replay.KindOdds)
	if len(odds) != 2 || odds[1].T != odds[0].T || odds[1].VendorMS != 1500 {
		t.Errorf("odds %+v: want the late line held at the t_us before it, with its own vendor_ms", odds)
	}
	if st.Notes["pt earlier than the line before, t_us held"] != 1 {
		t.Errorf("notes %v", st.Notes)
	}
}

func TestBadLines(t *testing.T) {
	good1 := def(1000, "OPEN", false, 0, "7:ACTIVE")
	good2 := rc(1001, `"id":7,"ltp":2`)
	for _, tt := range []struct {
		line, want string
	}{
		{`{"op":"mcm","pt":10`, "bad JSON"},
		{`not json at all`, "not a JSON object"},
		{`[1,2]`, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`"mcm"`, "not a JSON object"},
		{`{"op":"mcm","mc":[]}`, "mcm has no pt"},
		{`{"op":"ccm","cc":[]}`, "ccm has no pt"},
		{`{"op":"mcm","pt":"1001","mc":[]}`, "pt is a JSON string, want a number"},
		{`{"op":"mcm","pt":-5,"mc":[]}`, "not a Unix time"},
		{`{"pt":1001}`, `no "op"`},
		{`{"op":"mcm","pt":1001,"mc":[{"rc":[]}]}`, "mc[0]: no market id"},
		{`{"op":"mcm","pt":1001,"mc":[{"id":"1 1"}]}`, "holds a space"},
		{`{"op":"mcm","pt":1001,"mc":[{"id":"1.1","rc":[{"atb":[[2,1]]}]}]}`, "rc[0] has no id"},
		{`{"op":"mcm","pt":1001,"mc":[{"id":"1.1","rc":[{"id":7,"atb":[[2,1,3]]}]}]}`, "rc[0].atb[0] has 3 numbers"},
		{`{"op":"mcm","pt":1001,"mc":[{"id":"1.1","rc":[{"id":7,"batb":[[0.5,2,3]]}]}]}`, "level 0.5"},
		{`{"op":"mcm","pt":1001,"mc":[{"id":"1.1","rc":[{"id":7,"atb":"x"}]}]}`, "JSON string, want an array"},
		{`{"op":"mcm","pt":1001,"mc":[{"id":"1.1","marketDefinition":{"runners":[{"status":"ACTIVE"}]}}]}`, "runners[0] has no id"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			path := writeFile(t, "bad.jsonl", lines(good1, tt.line, good2))
			_, _, err := tryImport([]string{path}, Options{})
			var le *LineError
			if !errors.As(err, &le) || le.Line != 2 || le.File != path || !strings.Contains(err.Error(), path+" line 2: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a *LineError for %s line 2 saying %q", err, path, tt.want)
			}
			// SkipBad counts it and goes on: the price after it comes through.
			c, st, err := tryImport([]string{path}, Options{SkipBad: true})
			if err != nil || st.BadLines != 1 || len(st.BadExamples) != 1 || !strings.Contains(st.BadExamples[0], "line 2") {
				t.Fatalf("with SkipBad: %v, stats %+v", err, st)
			}
			if odds := ofKind(c, replay.KindOdds); len(odds) != 1 || odds[0].Prices["7"] != "2" {
				t.Errorf("with SkipBad, odds %+v", odds)
			}
		})
	}
}

func TestBadLineAppliesNothing(t *testing.T) {
	// The second runner change is bad, so the first is not applied either.
	path := writeFile(t, "m.jsonl", lines(
		def(1000, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"),
		rc(1001, `"id":7,"ltp":2`, `"id":8,"atb":[[1]]`),
		rc(1002, `"id":8,"ltp":3`),
	))
	c, st, err := tryImport([]string{path}, Options{SkipBad: true})
	if err != nil || st.BadLines != 1 {
		t.Fatal(err, st)
	}
	if got := pricesOf(c); !reflect.DeepEqual(got, []map[string]string{{"8": "3"}}) {
		t.Errorf("odds %v", got)
	}
}

func TestValuesReadPastAreNoted(t *testing.T) {
	path := writeFile(t, "m.jsonl", lines(
		`{"op":"mcm","pt":1000,"mc":[{"id":"1.1","marketDefinition":{"status":"PAUSED","betDelay":600,"runners":[{"id":7,"status":"ACTIVE","adjustmentFactor":140}]}}]}`,
		rc(1001, `"id":7,"atb":[[0.5,3],[2,-1],[1.9,4]],"ltp":2000`),
		`{"op":"ccm","pt":1002,"cc":[{"eventId":"1"}]}`,
		``,
		`   `,
	))
	c, st := importAll(t, []string{path}, Options{})
	want := map[string]int64{
		"unknown market status, read as suspended":    1,
		"betDelay above 60 s, read as 60 s":           1,
		"adjustmentFactor outside 0..100, left out":   1,
		"ladder price outside 1.01..1000, left out":   1,
		"ladder entry with a negative size, left out": 1,
		"ltp outside 1.01..1000, left out":            1,
		"score change without marketId, left out":     1,
	}
	if !reflect.DeepEqual(st.Notes, want) {
		t.Errorf("notes %v\nwant %v", st.Notes, want)
	}
	if st.Lines != 5 || st.BadLines != 0 {
		t.Errorf("lines %d bad %d, want 5 and 0", st.Lines, st.BadLines)
	}
	if got := pricesOf(c); !reflect.DeepEqual(got, []map[string]string{{"7": "1.9"}}) {
		t.Errorf("odds %v", got)
	}
	if s := ofKind(c, replay.KindStatus); len(s) != 1 || *s[0].BetDelayMS != replay.MaxBetDelayMS || s[0].Adjust != nil {
		t.Errorf("status %+v", s)
	}
}

// bigFile is a handcrafted file long enough that a truncated compressed
// copy ends mid-stream.
func bigFile() string {
	var ls []string
	ls = append(ls, def(1000, "OPEN", false, 0, "7:ACTIVE", "8:ACTIVE"))
	for i := range 5000 {
		ls = append(ls, rc(int64(1001+i), fmt.Sprintf(`"id":7,"atb":[[%.2f,%d]]`, 1.5+float64(i%100)/100, i+1), fmt.Sprintf(`"id":8,"trd":[[3,%d]]`, i)))
	}
	return lines(ls...)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bzip2Bytes compresses b with the bzip2 command (Go has no bzip2
// writer); the test skips without it.
func bzip2Bytes(t *testing.T, b []byte) []byte {
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("no bzip2 command to make a .bz2 file with")
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompressedFiles(t *testing.T) {
	plain := []byte(bigFile())
	want, _ := importAll(t, []string{writeFile(t, "m.jsonl", string(plain))}, Options{})
	for _, tt := range []struct {
		kind     string
		compress func(*testing.T, []byte) []byte
	}{{"gzip", gzipBytes}, {"bzip2", bzip2Bytes}} {
		t.Run(tt.kind, func(t *testing.T) {
			z := tt.compress(t, plain)
			dir := t.TempDir()
			// Found by magic bytes whatever the name, and by name.
			for _, name := range []string{"m.jsonl", "m.jsonl.gz", "m.jsonl.bz2", "m"} {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, z, 0o644); err != nil {
					t.Fatal(err)
				}
				got, _ := importAll(t, []string{path}, Options{})
				if !reflect.DeepEqual(got.Events, want.Events) {
					t.Errorf("%s: %d events, the plain file gives %d", name, len(got.Events), len(want.Events))
				}
			}
			// Truncated: an error naming the file, with or without SkipBad.
			for _, cut := range []int{len(z) / 2, len(z) - 4} {
				path := filepath.Join(dir, fmt.Sprintf("cut%d.jsonl", cut))
				if err := os.WriteFile(path, z[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
				for _, skip := range []bool{false, true} {
					c, _, err := tryImport([]string{path}, Options{SkipBad: skip})
					var le *LineError
					if !errors.As(err, &le) || le.File != path || !strings.Contains(err.Error(), "truncated") {
						t.Errorf("cut at %d of %d, SkipBad %v: error %v, want one naming %s as truncated", cut, len(z), skip, err, path)
					}
					if c != nil {
						t.Errorf("cut at %d, SkipBad %v: a capture of %d events", cut, skip, len(c.Events))
					}
				}
			}
		})
	}
	t.Run("named .gz but plain", func(t *testing.T) {
		path := writeFile(t, "m.jsonl.gz", string(plain[:200]))
		if _, _, err := tryImport([]string{path}, Options{SkipBad: true}); err == nil || !strings.Contains(err.Error(), path+" line 1: not a readable gzip file") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("named .bz2 but plain", func(t *testing.T) {
		path := writeFile(t, "m.jsonl.bz2", string(plain[:200]))
		if _, _, err := tryImport([]string{path}, Options{SkipBad: true}); err == nil || !strings.Contains(err.Error(), path+" line 1: the bzip2 stream is corrupt") {
			t.Errorf("error %v", err)
		}
	})
}

func TestSharedFileCompressedAndTruncated(t *testing.T) {
	plain, err := os.ReadFile(sharedFile(t, cricketOdds))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := importAll(t, []string{sharedFile(t, cricketOdds)}, Options{})
	for _, tt := range []struct {
		ext      string
		compress func(*testing.T, []byte) []byte
	}{{".gz", gzipBytes}, {".bz2", bzip2Bytes}} {
		t.Run(tt.ext, func(t *testing.T) {
			z := tt.compress(t, plain)
			path := writeFile(t, cricketOdds+tt.ext, string(z))
			got, _ := importAll(t, []string{path}, Options{})
			if len(got.Events) != len(want.Events) || !reflect.DeepEqual(got.Events[len(got.Events)-1], want.Events[len(want.Events)-1]) {
				t.Errorf("%d events, the plain file gives %d", len(got.Events), len(want.Events))
			}
			cut := writeFile(t, "cut-"+cricketOdds+tt.ext, string(z[:len(z)*2/3]))
			if _, _, err := tryImport([]string{cut}, Options{SkipBad: true}); err == nil || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("truncated copy: %v", err)
			}
		})
	}
}

func TestTruncatedPlainFileLastLine(t *testing.T) {
	content := lines(def(1000, "OPEN", false, 0, "7:ACTIVE"), rc(1001, `"id":7,"ltp":2`))
	path := writeFile(t, "m.jsonl", content[:len(content)-10])
	if _, _, err := tryImport([]string{path}, Options{}); err == nil || !strings.Contains(err.Error(), "line 2: bad JSON") {
		t.Errorf("error %v, want line 2 bad", err)
	}
}

func TestLongLine(t *testing.T) {
	long := `{"op":"mcm","pt":1001,"pad":"` + strings.Repeat("x", MaxLine) + `"}`
	path := writeFile(t, "m.jsonl", lines(def(1000, "OPEN", false, 0, "7:ACTIVE"), long, rc(1002, `"id":7,"ltp":2`)))
	if _, _, err := tryImport([]string{path}, Options{}); err == nil || !strings.Contains(err.Error(), "line 2: longer than") {
		t.Errorf("error %v", err)
	}
	c, st, err := tryImport([]string{path}, Options{SkipBad: true})
	if err != nil || st.BadLines != 1 || len(ofKind(c, replay.KindOdds)) != 1 {
		t.Errorf("SkipBad: %v %+v", err, st)
	}
}

func TestWindow(t *testing.T) {
	settled := `,"settledTime":"x"`
	path := writeFile(t, "w.jsonl", lines(
		defFor("1.A", 1000, "OPEN", false, 0, "", "1:ACTIVE", "2:ACTIVE"),
		defFor("1.B", 1000, "OPEN", false, 0, "", "1:ACTIVE", "2:ACTIVE"),
		defFor("1.C", 1000, "OPEN", false, 0, "", "1:ACTIVE"),
		rcFor("1.A", 2000, false, `"id":1,"atb":[[2,1]]`, `"id":2,"atb":[[3,1]]`),
		rcFor("1.B", 2000, false, `"id":1,"ltp":4`),
		defFor("1.C", 2500, "CLOSED", false, 0, settled, "1:WINNER"), // resulted before From: left out
		defFor("1.A", 3000, "OPEN", true, 2, "", "1:ACTIVE", "2:ACTIVE"),
		rcFor("1.A", 3500, false, `"id":1,"atb":[[2.2,1]]`),
		rcFor("1.A", 5000, false, `"id":1,"atb":[[2.4,1]]`), // From: the first event after the snapshot
		rcFor("1.B", 6000, false, `"id":1,"ltp":5`),
		rcFor("1.B", 7000, false, `"id":1,"ltp":6`), // after Until
	))
	for _, tt := range []struct {
		name       string
		opts       Options
		want       []string
		start, dur int64
		folded     int64
		omitted    int
	}{
		{"from the turn in play minus 0.4 s, until it plus 3 s", Options{From: "inplay-400ms", Until: "inplay+3s"}, []string{
			"0 1.A status open - map[]", "0 1.A odds open - map[1:2 2:3]",
			"0 1.B status open - map[]", "0 1.B odds open - map[1:4]",
			"400 1.A status open true map[]", "900 1.A odds open - map[1:2.2]",
			"2400 1.A odds open - map[1:2.4]", "3400 1.B odds open - map[1:5]",
		}, 2600, 3400, 6, 1},
		{"from in play", Options{From: "inplay"}, []string{
			"0 1.A status open - map[]", "0 1.A odds open - map[1:2 2:3]",
			"0 1.B status open - map[]", "0 1.B odds open - map[1:4]",
			"0 1.A status open true map[]", "500 1.A odds open - map[1:2.2]",
			"2000 1.A odds open - map[1:2.4]", "3000 1.B odds open - map[1:5]", "4000 1.B odds open - map[1:6]",
		}, 3000, 4000, 6, 1},
		{"from after the last message", Options{From: "1970-01-01T00:00:10Z"}, []string{
			"0 1.A status open true map[]", "0 1.A odds open - map[1:2.4 2:3]",
			"0 1.B status open - map[]", "0 1.B odds open - map[1:6]",
		}, 10000, 0, 11, 1},
		{"from before the first message", Options{From: "1970-01-01T00:00:00Z", Until: "1970-01-01T00:00:01Z"}, []string{
			"0 1.A status open - map[]", "0 1.B status open - map[]", "0 1.C status open - map[]",
		}, 1000, 0, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, st := importAll(t, []string{path}, tt.opts)
			var got []string
			for _, e := range c.Events {
				ip := "-"
				if e.InPlay != nil {
					ip = fmt.Sprint(*e.InPlay)
				}
				got = append(got, fmt.Sprintf("%d %s %s %s %s %v", e.T/1000, e.Market, e.Kind, "open", ip, e.Prices))
				if e.Kind == replay.KindStatus && e.Status != replay.StatusOpen {
					t.Errorf("status %s", e.Status)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events\n got %q\nwant %q", got, tt.want)
			}
			if c.Header.StartMS != tt.start || c.Header.DurationUS != tt.dur*1000 || st.Folded != tt.folded || st.Omitted != tt.omitted {
				t.Errorf("start %d duration %d folded %d omitted %d, want %d %d %d %d", c.Header.StartMS, c.Header.DurationUS/1000, st.Folded, st.Omitted, tt.start, tt.dur, tt.folded, tt.omitted)
			}
		})
	}
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{From: "yesterday"}, `from "yesterday" is neither an RFC 3339 time`},
		{Options{From: "inplay10m"}, `from "inplay10m": want inplay`},
		{Options{Until: "inplay+x"}, `until "inplay+x": want inplay`},
		{Options{From: "inplay", Until: "inplay-1s"}, `until "inplay-1s" is before from "inplay"`},
	} {
		if _, _, err := tryImport([]string{path}, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.opts, err, tt.want)
		}
	}
	noInPlay := writeFile(t, "n.jsonl", lines(def(1000, "OPEN", false, 0, "7:ACTIVE")))
	if _, _, err := tryImport([]string{noInPlay}, Options{From: "inplay-10m"}); err == nil || !strings.Contains(err.Error(), "no market in these files turns in play") {
		t.Errorf("no in play: %v", err)
	}
}

// ccm is a score-feed line for market 1.1: the current innings (0: no
// matchStats) and incidents as "TYPE value innings overs actualTime", "-"
// for an absent field, newest first as the feed sends them.
func ccm(pt int64, innings int, incidents ...string) string {
	var is []string
	for _, in := range incidents {
		f := strings.Fields(in)
		s := fmt.Sprintf(`{"incidentType":%q,"overs":%q,"actualTime":%s`, f[0], f[3], f[4])
		if f[1] != "-" {
			s += fmt.Sprintf(`,"qualifierType":"RUNS","value":%q`, f[1])
		}
		if f[2] != "-" {
			s += `,"innings":` + f[2] + `,"participantRef":"A Batter"`
		}
		is = append(is, s+"}")
	}
	stats := ""
	if innings > 0 {
		stats = fmt.Sprintf(`"matchStats":{"currentInnings":%d},`, innings)
	}
	return fmt.Sprintf(`{"op":"ccm","id":2,"clk":"1","pt":%d,"cc":[{"eventId":"9","marketId":"1.1",%s"incidentListWrapper":{"incidentList":[%s]}}]}`,
		pt, stats, strings.Join(is, ","))
}

func TestScoreIncidents(t *testing.T) {
	path := writeFile(t, "score.jsonl", lines(
		ccm(100, 1, "STRIKE 1 1 0.1 90"),
		ccm(101, 1, "STRIKE 1 1 0.1 90"),                                                             // the same again
		ccm(102, 1, "STRIKE 1 - 0.1 90"),                                                             // a copy without innings
		ccm(103, 1, "WIDE 0 1 0.2 103", "STRIKE 1 - 0.1 90"),                                         // a wide
		ccm(104, 1, "WIDE 0 1 0.2 104", "WIDE 0 - 0.2 103", "STRIKE 1 - 0.1 90"),                     // a second wide on the same ball
		ccm(105, 1, "OUT - 1 0.2 105", "STRIKE 4 - 0.2 105", "WIDE 0 - 0.2 105", "WIDE 0 - 0.2 105"), // a correction: new times, and a wicket
		ccm(106, 1, "STRIKE 6 1 0.3 106", "OUT - - 0.2 105", "STRIKE 4 - 0.2 105"),
		ccm(106, 1, "INNING_END - 1 19.6 106", "STRIKE 2 1 19.6 106"),
		ccm(107, 2, "STRIKE 0 2 0.1 107", "INNING_END - - 19.6 106", "STRIKE 2 - 19.6 106"), // the turn of an innings: the last two are innings 1's
		ccm(108, 2, "STRIKE 0 - 0.1 107", "INNING_END - - 19.6 106", "STRIKE 2 - 19.6 106"),
		ccm(109, 2, "OUT - 2 0.2 109", "STRIKE 0 - 0.1 107"),
		ccm(110, 0, "NO_BALL 1 2 0.3 110", "BYE 4 2 0.3 110", "LEG_BYE 1 2 0.3 110", "PENALTY-RUNS 5 2 0.3 110"),
	))
	c, _ := importAll(t, []string{path}, Options{})
	var got []string
	for _, e := range c.Events {
		got = append(got, fmt.Sprintf("%d %s", e.VendorMS, e.Incident))
	}
	want := []string{
		"100 runs:1", "103 wide", "104 wide",
		"105 four", "105 wicket", // the four at 0.2 is new (a corrected ball); the wides were seen
		"106 six", "106 runs:2", "106 innings_end",
		"107 runs:0",
		"109 wicket",
		"110 penalty_runs", "110 leg_bye", "110 bye", "110 no_ball", // equal times: from the end of the list
	}
	if !slices.Equal(got, want) {
		t.Errorf("incidents\n got %q\nwant %q", got, want)
	}
}

func TestFromRemembersIncidents(t *testing.T) {
	path := writeFile(t, "score.jsonl", lines(
		ccm(1000, 1, "STRIKE 1 1 0.1 990"),
		ccm(2000, 1, "STRIKE 4 1 0.2 1990", "STRIKE 1 - 0.1 990"),
		ccm(3000, 1, "OUT - 1 0.3 2990", "STRIKE 4 - 0.2 1990", "STRIKE 1 - 0.1 990"),
	))
	c, _ := importAll(t, []string{path}, Options{From: "1970-01-01T00:00:02.5Z"})
	if len(c.Events) != 1 || c.Events[0].Incident != "wicket" || c.Events[0].T != 500_000 {
		t.Errorf("events %+v, want only the wicket, 0.5 s in", c.Events)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(nil, Options{}); err == nil {
		t.Error("no files: no error")
	}
	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	if _, err := Open([]string{missing}, Options{}); err == nil || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Errorf("missing file: %v", err)
	}
	// An empty file imports as an empty capture.
	c, st := importAll(t, []string{writeFile(t, "empty.jsonl", "")}, Options{})
	if len(c.Events) != 0 || c.Header.DurationUS != 0 || st.Lines != 0 {
		t.Errorf("empty: %+v %+v", c, st)
	}
}

func TestCloseBeforeTheEnd(t *testing.T) {
	im, err := Open([]string{writeFile(t, "m.jsonl", bigFile())}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Next(); err != nil {
		t.Fatal(err)
	}
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	if err := im.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var _ replay.Stream = im
	_ = io.EOF
}
