package replay

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/internal/herr"
)

func statsPtr[T any](v T) *T { return &v }

func TestStats(t *testing.T) {
	odds := func(t int64, m, producer string) Event {
		return Event{T: t, Kind: KindOdds, Market: m, Prices: map[string]string{"home": "2.1"}, Producer: producer}
	}
	status := func(t int64, m string, inPlay *bool) Event {
		return Event{T: t, Kind: KindStatus, Market: m, Status: StatusOpen, InPlay: inPlay}
	}
	bet := func(t int64, acct, m string) Event {
		return Event{T: t, Kind: KindBet, Account: acct, ID: "b" + acct, Market: m, Selection: "home", Odds: "2.1", Stake: 100}
	}
	dep := func(t int64, acct string) Event {
		return Event{T: t, Kind: KindDeposit, Account: acct, ID: "d" + acct, Amount: 1000}
	}
	tests := []struct {
		name   string
		header Header
		events []Event
		want   CaptureStats // Header, ByKind and Producers are checked as given
	}{
		{
			// Nothing but a header: zero everywhere, no division by zero.
			name:   "empty",
			header: Header{Capture: CaptureVersion},
			want:   CaptureStats{ByKind: map[Kind]int64{}, Producers: map[string]int64{}},
		},
		{
			// The feed's busiest second is the second one (3 events), the
			// bettors' the first (2); a tie keeps the earlier second.
			name:   "peaks per side and second",
			header: Header{Capture: CaptureVersion},
			events: []Event{
				odds(0, "m1", "live"), dep(100, "a"), dep(200, "b"),
				odds(1_000_000, "m1", "live"), odds(1_500_000, "m2", "live"), odds(1_999_999, "m1", "prematch"),
				bet(2_000_000, "a", "m1"), bet(3_000_000, "b", "m2"),
			},
			want: CaptureStats{
				Events: 8, Feed: 4, Bettor: 4, FirstUS: 0, LastUS: 3_000_000, DurationUS: 3_000_000,
				ByKind:        map[Kind]int64{KindOdds: 4, KindDeposit: 2, KindBet: 2},
				MeanPerSecond: 8.0 / 3, MeanFeedPerSecond: 4.0 / 3, MeanBettorPerSecond: 4.0 / 3,
				PeakFeed: Peak{Events: 3, Second: 1}, PeakBettor: Peak{Events: 2, Second: 0},
				Markets: 2, Accounts: 2, Producers: map[string]int64{"live": 3, "prematch": 1},
				BetsUnknown: 2,
			},
		},
		{
			// The header's duration wins when it is longer than the events.
			name:   "header duration",
			header: Header{Capture: CaptureVersion, DurationUS: 10_000_000},
			events: []Event{odds(5_000_000, "m1", "")},
			want: CaptureStats{
				Events: 1, Feed: 1, FirstUS: 5_000_000, LastUS: 5_000_000, DurationUS: 10_000_000,
				ByKind: map[Kind]int64{KindOdds: 1}, MeanPerSecond: 0.1, MeanFeedPerSecond: 0.1,
				PeakFeed: Peak{Events: 1, Second: 5}, Markets: 1, Producers: map[string]int64{"": 1},
			},
		},
		{
			// A status without in_play keeps the market's earlier value; a
			// market never given one leaves its bets unknown.
			name:   "in-play share",
			header: Header{Capture: CaptureVersion},
			events: []Event{
				status(0, "m1", statsPtr(false)), bet(1, "a", "m1"), bet(2, "a", "m2"),
				status(3, "m1", statsPtr(true)), bet(4, "a", "m1"), status(5, "m1", nil), bet(6, "b", "m1"),
			},
			want: CaptureStats{
				Events: 7, Feed: 3, Bettor: 4, LastUS: 6, DurationUS: 6,
				ByKind:        map[Kind]int64{KindStatus: 3, KindBet: 4},
				MeanPerSecond: 7 / 6e-6, MeanFeedPerSecond: 3 / 6e-6, MeanBettorPerSecond: 4 / 6e-6,
				PeakFeed: Peak{Events: 3}, PeakBettor: Peak{Events: 4},
				Markets: 2, Accounts: 2, Producers: map[string]int64{"": 3},
				InPlayKnown: true, BetsInPlay: 2, BetsPreMatch: 1, BetsUnknown: 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Capture{Header: tt.header, Events: tt.events}
			got, err := Stats(c.Stream())
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Header = tt.header
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Stats:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatsInPlayShare(t *testing.T) {
	tests := []struct {
		name      string
		in, pre   int64
		want      float64
		wantKnown bool
	}{
		{"no bet with a known state", 0, 0, 0, false}, // not 0%: unknown
		{"a quarter in play", 1, 3, 0.25, true},
		{"all pre-match", 0, 5, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CaptureStats{BetsInPlay: tt.in, BetsPreMatch: tt.pre}.InPlayShare()
			if got != tt.want || ok != tt.wantKnown {
				t.Errorf("InPlayShare() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantKnown)
			}
		})
	}
}

// statsErrStream yields its events, then err.
type statsErrStream struct {
	events []Event
	err    error
}

func (f *statsErrStream) Header() Header { return Header{Capture: CaptureVersion} }
func (f *statsErrStream) Next() (Event, error) {
	if len(f.events) == 0 {
		return Event{}, f.err
	}
	e := f.events[0]
	f.events = f.events[1:]
	return e, nil
}

func TestStatsErrors(t *testing.T) {
	lineErr := &herr.Error{Code: herr.EINPUT, Source: CaptureSource, Problems: []string{"line 3: bad JSON: unexpected end"}}
	ok := Event{T: 5, Kind: KindDeposit, Account: "a", ID: "d", Amount: 1}
	tests := []struct {
		name string
		s    Stream
		want string
	}{
		// The stream's own error (a reader's, naming the line) comes back as it is.
		{"stream error", &statsErrStream{events: []Event{ok}, err: lineErr}, "line 3: bad JSON"},
		// A stream out of order would give wrong peaks: refused, naming the event.
		{"backwards", &statsErrStream{events: []Event{ok, {T: 4, Kind: KindDeposit, Account: "a", ID: "e", Amount: 1}}, err: io.EOF},
			"event 2: t_us 4 goes backwards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Stats(tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Stats error = %v, want one containing %q", err, tt.want)
			}
			if tt.name == "stream error" && !errors.Is(err, lineErr) {
				t.Errorf("the stream's error was not returned as it is: %v", err)
			}
		})
	}
}

func TestStatsKindsOrder(t *testing.T) {
	s := CaptureStats{ByKind: map[Kind]int64{KindBet: 1, KindOdds: 2, "zebra": 1, KindIncident: 1}}
	got := s.Kinds()
	want := []Kind{KindOdds, KindIncident, KindBet, "zebra"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Kinds() = %v, want %v", got, want)
	}
}
