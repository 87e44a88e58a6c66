package betfair

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// fuzzSeeds are lines in the form of the shared files' first lines
// (shortened), and some the format allows that they lack.
var fuzzSeeds = []string{
	// cricket-match-odds: the opening image, then a delta.
	`{"op":"mcm","clk":"AOq7wRQA5papFACf7r4U","pt":1657018212979,"mc":[{"id":"1.200806927","marketDefinition":{"bspMarket":false,"turnInPlayEnabled":true,"eventId":"31573045","numberOfWinners":1,"marketType":"MATCH_ODDS","inPlay":false,"betDelay":0,"status":"OPEN","runners":[{"status":"ACTIVE","sortPriority":1,"id":228749},{"status":"ACTIVE","sortPriority":2,"id":2857977}],"version":4638141907},"img":true}]}
{"op":"mcm","clk":"AIu8wRQAipepFAC/7r4U","pt":1657018213373,"mc":[{"id":"1.200806927","rc":[{"atb":[[1.01,20]],"id":228749},{"atb":[[1.01,20]],"id":2857977}]}]}`,
	// cricket-match-odds: in play, then closed and settled.
	`{"op":"mcm","pt":1657537220540,"mc":[{"id":"1.200806927","marketDefinition":{"inPlay":true,"betDelay":5,"status":"OPEN","runners":[{"status":"ACTIVE","id":228749},{"status":"ACTIVE","id":2857977}]}}]}
{"op":"mcm","pt":1657537221000,"mc":[{"id":"1.200806927","rc":[{"atl":[[1.3,5]],"trd":[[1.29,10]],"tv":10,"ltp":1.29,"id":228749}],"tv":10}]}
{"op":"mcm","pt":1657550847332,"mc":[{"id":"1.200806927","marketDefinition":{"inPlay":true,"betDelay":5,"status":"CLOSED","settledTime":"2022-07-11T14:47:01.000Z","runners":[{"status":"WINNER","id":228749},{"status":"LOSER","id":2857977}]}}]}`,
	// greyhound-win: bdatb/bdatl and con.
	`{"op":"mcm","clk":"AAAAAAAA","pt":1650392673420,"mc":[{"id":"1.197931750","marketDefinition":{"bspMarket":true,"status":"OPEN","inPlay":false,"betDelay":0,"runners":[{"status":"ACTIVE","id":44331354},{"status":"ACTIVE","id":37947503}]},"rc":[{"atb":[[8.8,18.62],[1.01,13002]],"atl":[[9.4,10.39],[1000,13]],"bdatb":[[0,8.8,18.62],[1,8.6,4.83]],"bdatl":[[0,9.4,10.39]],"id":44331354}],"con":true,"img":true}]}`,
	// horse-race-basic: adjustment factors, a removal, ltp only.
	`{"op":"mcm","clk":"3515399387","pt":1497351220318,"mc":[{"id":"1.132153978","marketDefinition":{"status":"OPEN","inPlay":false,"betDelay":0,"runners":[{"adjustmentFactor":22.12,"status":"ACTIVE","id":12115648,"name":"Brother Mcgonagall"},{"adjustmentFactor":5.55,"status":"REMOVED","removalDate":"2017-06-14T10:04:56.000Z","id":9606433}]}}]}
{"op":"mcm","clk":"3515399388","pt":1497351230318,"mc":[{"id":"1.132153978","rc":[{"ltp":4.5,"id":12115648}]}]}`,
	// cricket-score-feed: fixture info, then an incident list.
	`{"op":"ccm","id":2,"clk":"2554851472926753","pt":1657535556281,"cc":[{"eventId":"31573045","marketId":"1.200806927","fixtureInfo":{"fixtureStatus":"PRE_MATCH","eventStatus":"MATCH_SCHEDULED"}}]}
{"op":"ccm","id":2,"clk":"2555512940619854","pt":1657539001960,"cc":[{"eventId":"31573045","marketId":"1.200806927","matchStats":{"currentInnings":1},"incidentListWrapper":{"incidentList":[{"participantRef":"Bas de Leede","incidentType":"STRIKE","qualifierType":"RUNS","value":"1","innings":1,"overs":"0.1","actualTime":1657539001944}]}}]}`,
	// Other ops, batb deltas and deletes, a handicap.
	`{"op":"connection","connectionId":"002-1"}
{"op":"mcm","pt":5,"ct":"HEARTBEAT","clk":"1"}
{"op":"mcm","pt":6,"mc":[{"id":"1.9","rc":[{"id":47972,"hc":-1.5,"batb":[[0,1.9,3],[1,1.8,2]]},{"id":47972,"hc":-1.5,"batb":[[0,0,0]]}]}]}`,
	// Bad lines.
	"not json\n[1]\nnull\n{\"op\":\"mcm\"}\n{\"pt\":1}\n",
	"",
}

// FuzzImport imports two small files, merged, with and without SkipBad
// and with a window from the turn in play: it never panics, every event it
// gives is valid (replay.CaptureWriter accepts the whole capture, header
// included), t_us never goes back, and every error is a *LineError naming
// a line.
func FuzzImport(f *testing.F) {
	for _, a := range fuzzSeeds {
		for _, b := range fuzzSeeds[len(fuzzSeeds)-3:] {
			f.Add([]byte(a), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		inputs := []input{memInput("a.jsonl", a), memInput("b.jsonl", b)}
		for _, opts := range []Options{{}, {SkipBad: true}, {SkipBad: true, From: "inplay-1s"}} {
			im, err := openInputs(inputs, opts)
			if err != nil {
				var le *LineError
				if !errors.As(err, &le) && opts.From == "" {
					t.Fatalf("%+v: Open: %v, not a *LineError", opts, err)
				}
				continue
			}
			w, err := replay.NewCaptureWriter(io.Discard, im.Header())
			if err != nil {
				t.Fatalf("%+v: header %+v: %v", opts, im.Header(), err)
			}
			var last int64
			for {
				e, err := im.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var le *LineError
					if !errors.As(err, &le) || le.Line < 1 {
						t.Fatalf("%+v: %v, not a *LineError naming a line", opts, err)
					}
					if opts.SkipBad && !le.fatal {
						t.Fatalf("%+v: SkipBad stopped at a bad line: %v", opts, err)
					}
					break
				}
				if err := e.Validate(); err != nil {
					t.Fatalf("%+v: invalid event %+v: %v", opts, e, err)
				}
				if e.T < last {
					t.Fatalf("%+v: t_us %d after %d", opts, e.T, last)
				}
				last = e.T
				if err := w.Write(e); err != nil {
					t.Fatalf("%+v: CaptureWriter refused %+v: %v", opts, e, err)
				}
			}
			im.Close()
		}
	})
}

func memInput(name string, b []byte) input {
	return input{name: name, open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}
