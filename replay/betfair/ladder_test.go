package betfair

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func TestLadderUpdates(t *testing.T) {
	tests := []struct {
		name    string
		leveled bool
		updates [][][]float64
		want    []level
		notes   int
	}{
		{"prices insert in order", false,
			[][][]float64{{{2.5, 10}, {2.2, 5}, {3, 1}}},
			[]level{{2.2, 2.2, 5}, {2.5, 2.5, 10}, {3, 3, 1}}, 0},
		{"a size replaces the size at its price", false,
			[][][]float64{{{2.5, 10}}, {{2.5, 4.5}}},
			[]level{{2.5, 2.5, 4.5}}, 0},
		{"size 0 deletes the price", false,
			[][][]float64{{{2.5, 10}, {2.6, 3}}, {{2.5, 0}}},
			[]level{{2.6, 2.6, 3}}, 0},
		{"deleting a price not there is nothing", false,
			[][][]float64{{{2.5, 10}}, {{9, 0}}},
			[]level{{2.5, 2.5, 10}}, 0},
		{"a delete then an add in one update", false,
			[][][]float64{{{2.5, 10}}, {{2.5, 0}, {2.4, 7}}},
			[]level{{2.4, 2.4, 7}}, 0},
		{"levels are keyed by position", true,
			[][][]float64{{{0, 2.5, 10}, {1, 2.4, 3}}, {{0, 2.6, 1}}},
			[]level{{0, 2.6, 1}, {1, 2.4, 3}}, 0},
		{"size 0 deletes a level, whatever its price", true,
			[][][]float64{{{0, 2.5, 10}, {1, 2.4, 3}}, {{1, 0, 0}}},
			[]level{{0, 2.5, 10}}, 0},
		{"prices round to four decimals", false,
			[][][]float64{{{1.00999999, 1}, {2.123456, 1}}, {{1.01, 3}}},
			[]level{{1.01, 1.01, 3}, {2.1235, 2.1235, 1}}, 0},
		{"off-ladder prices and negative sizes are left out", false,
			[][][]float64{{{1.001, 1}, {1001, 1}, {2, -1}, {2, 3}}},
			[]level{{2, 2, 3}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l ladder
			notes := 0
			for _, u := range tt.updates {
				l.update(u, tt.leveled, func(string) { notes++ })
			}
			if !slices.Equal([]level(l), tt.want) || notes != tt.notes {
				t.Errorf("ladder %v with %d notes, want %v with %d", l, notes, tt.want, tt.notes)
			}
		})
	}
}

func TestLadderBounded(t *testing.T) {
	var l ladder
	notes := 0
	for i := range maxLadder + 10 {
		l.update([][]float64{{1.01 + float64(i)*0.01, 1}}, false, func(string) { notes++ })
	}
	if len(l) != maxLadder || notes != 10 {
		t.Errorf("%d entries and %d notes, want %d and 10", len(l), notes, maxLadder)
	}
}

func TestLadderShapes(t *testing.T) {
	for _, tt := range []struct {
		json    string
		leveled bool
		want    string // "" for ok, else part of the error
	}{
		{`[[2,1]]`, false, ""},
		{`[]`, false, ""},
		{`[[2]]`, false, "[0] has 1 numbers, want [price,size]"},
		{`[[2,1],[2,1,1]]`, false, "[1] has 3 numbers"},
		{`[[0,2,1]]`, true, ""},
		{`[[2,1]]`, true, "want [level,price,size]"},
		{`[[0.5,2,1]]`, true, "level 0.5 is not a whole number"},
		{`[[-1,2,1]]`, true, "level -1"},
		{`[[100,2,1]]`, true, "level 100"},
		{`[null]`, false, "[0] is null, want [price,size]"},
		{`[["2",1]]`, false, "[0][0] is a JSON string, want a number"},
		{`[[2,1e999]]`, false, "not a finite number"},
		{`{"2":1}`, false, "is a JSON object, want an array"},
	} {
		v, err := fastjson.Parse(tt.json)
		if err != nil {
			t.Fatal(err)
		}
		var d decoder
		_, err = d.ladder(v, tt.leveled)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ladder(%s, leveled %v) = %v, want %q", tt.json, tt.leveled, err, tt.want)
		}
	}
}

func TestDisplayPrice(t *testing.T) {
	for _, tt := range []struct {
		name string
		rc   string // one runner change, as JSON
		want string
	}{
		{"batb level 0 first", `{"batb":[[0,2.5,1],[1,2.4,1]],"atb":[[3,1]],"ltp":4}`, "2.5"},
		{"batb without level 0 falls to atb", `{"batb":[[1,2.4,1]],"atb":[[3,1],[2.9,5]],"ltp":4}`, "3"},
		{"the highest atb", `{"atb":[[1.01,20],[1.5,2],[1.45,8]]}`, "1.5"},
		{"bdatb level 0 when there is no atb", `{"bdatb":[[0,6.2,1]],"ltp":4}`, "6.2"},
		{"ltp last", `{"atl":[[3,1]],"ltp":4.1}`, "4.1"},
		{"nothing to show", `{"atl":[[3,1]],"trd":[[3,10]]}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeLine([]byte(fmt.Sprintf(`{"op":"mcm","pt":1,"mc":[{"id":"1.1","rc":[%s]}]}`, tt.rc[:len(tt.rc)-1]+`,"id":7}`)))
			if err != nil {
				t.Fatal(err)
			}
			mk := newMarket("1.1")
			mk.apply(&m.mc[0], func(string) {})
			if got := mk.runners[0].display(); got != tt.want {
				t.Errorf("display %q, want %q", got, tt.want)
			}
		})
	}
}
