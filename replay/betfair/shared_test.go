package betfair

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// The shared files (../shared/data/betfair, MIT licensed: see the LICENSE
// files there).
const (
	cricketOdds  = "cricket-match-odds-1.200806927.jsonl"
	cricketScore = "cricket-score-feed-1.200806927.jsonl"
	greyhound    = "greyhound-win-1.197931750.jsonl"
	horseRace    = "horse-race-basic-1.132153978.jsonl"
)

// fileRunner is a runner of a file's last market definition, read here
// independently of the importer.
type fileRunner struct {
	ID               int64    `json:"id"`
	Status           string   `json:"status"`
	AdjustmentFactor *float64 `json:"adjustmentFactor"`
}

// lastDefinition returns the runners and status of the last market
// definition in the file at path.
func lastDefinition(t *testing.T, path string) (status string, runners []fileRunner) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m struct {
			Mc []struct {
				MarketDefinition *struct {
					Status  string       `json:"status"`
					Runners []fileRunner `json:"runners"`
				} `json:"marketDefinition"`
			} `json:"mc"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for _, mc := range m.Mc {
			if d := mc.MarketDefinition; d != nil {
				status, runners = d.Status, d.Runners
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return status, runners
}

// withStatus is the selection ids of the runners with status s.
func withStatus(runners []fileRunner, s string) []string {
	var out []string
	for _, r := range runners {
		if r.Status == s {
			out = append(out, strconv.FormatInt(r.ID, 10))
		}
	}
	return out
}

func TestEverySharedFileImports(t *testing.T) {
	sharedData(t)
	for _, name := range []string{cricketOdds, cricketScore, greyhound, horseRace} {
		t.Run(name, func(t *testing.T) {
			c, st := importAll(t, []string{sharedFile(t, name)}, Options{Name: name})
			if len(c.Events) == 0 {
				t.Fatal("no events")
			}
			if st.BadLines != 0 || st.Lines == 0 || st.Markets == 0 {
				t.Errorf("stats %+v", st)
			}
			h := c.Header
			if h.Source != "betfair" || h.Name != name || h.StartMS <= 0 || h.DurationUS <= 0 {
				t.Errorf("header %+v", h)
			}
			var n int64
			for _, k := range st.Events {
				n += k
			}
			if n != int64(len(c.Events)) {
				t.Errorf("Stats.Events adds up to %d, the import gave %d", n, len(c.Events))
			}
			for i, e := range c.Events {
				if e.Producer != "betfair" || e.VendorMS != h.StartMS+e.T/1000 {
					t.Fatalf("event %d: producer %q vendor_ms %d, want betfair and start_ms + t_us/1000 = %d", i, e.Producer, e.VendorMS, h.StartMS+e.T/1000)
				}
			}
			if last := c.Events[len(c.Events)-1].T; last > h.DurationUS {
				t.Errorf("the last event at %d µs is after duration_us %d", last, h.DurationUS)
			}
		})
	}
}

func TestCricketMatchOdds(t *testing.T) {
	path := sharedFile(t, cricketOdds)
	c, _ := importAll(t, []string{path}, Options{})
	status, runners := lastDefinition(t, path)
	if status != "CLOSED" {
		t.Fatalf("the file's last definition is %s; the test expects the match to close", status)
	}
	var inPlay bool
	for _, e := range ofKind(c, replay.KindStatus) {
		if e.InPlay != nil && *e.InPlay && e.BetDelayMS != nil && *e.BetDelayMS > 0 {
			inPlay = true
		}
	}
	if !inPlay {
		t.Error("no status event with in_play true and a bet delay, though the match was played in play with betDelay")
	}
	results := ofKind(c, replay.KindResult)
	if want := withStatus(runners, "WINNER"); len(results) != 1 || !slices.Equal(results[0].Winners, want) {
		t.Fatalf("results %+v, want one with winners %v (the file's last definition)", results, want)
	}
	// The status events in order: pre-match open, suspended at the turn,
	// open in play, suspended, closed.
	var seq []string
	for _, e := range ofKind(c, replay.KindStatus) {
		s := e.Status
		if e.InPlay != nil && *e.InPlay {
			s += "/inplay"
		}
		seq = append(seq, s)
	}
	if want := []string{"open", "suspended", "open/inplay", "suspended/inplay", "closed/inplay"}; !slices.Equal(seq, want) {
		t.Errorf("status sequence %v, want %v", seq, want)
	}
	// Both runners are priced, and nothing is priced after the close.
	priced := map[string]bool{}
	closedAt := results[0].T
	for _, e := range ofKind(c, replay.KindOdds) {
		for sel := range e.Prices {
			priced[sel] = true
		}
		if e.T > closedAt {
			t.Fatalf("odds at %d after the close at %d", e.T, closedAt)
		}
	}
	if len(priced) != 2 || !priced["228749"] || !priced["2857977"] {
		t.Errorf("priced selections %v, want the two teams", priced)
	}
}

func TestHorseRaceRemovedAndAdjust(t *testing.T) {
	path := sharedFile(t, horseRace)
	c, _ := importAll(t, []string{path}, Options{})
	_, runners := lastDefinition(t, path)
	statuses := ofKind(c, replay.KindStatus)
	last := statuses[len(statuses)-1]
	removed := withStatus(runners, "REMOVED")
	if len(removed) == 0 {
		t.Fatal("the file's last definition has no REMOVED runner; the test expects non-runners")
	}
	if got := slices.Sorted(slices.Values(last.Removed)); !slices.Equal(got, slices.Sorted(slices.Values(removed))) {
		t.Errorf("the last status event removes %v, the file's last definition %v", last.Removed, removed)
	}
	for _, r := range runners {
		if r.AdjustmentFactor == nil {
			continue
		}
		sel := strconv.FormatInt(r.ID, 10)
		if want := strconv.FormatFloat(*r.AdjustmentFactor, 'f', -1, 64); last.Adjust[sel] != want {
			t.Errorf("adjust[%s] = %q, the file says %s", sel, last.Adjust[sel], want)
		}
	}
	// A removed runner is not priced after its removal.
	for _, sel := range removed {
		removedAt := int64(-1)
		for _, e := range statuses {
			if slices.Contains(e.Removed, sel) {
				removedAt = e.T
				break
			}
		}
		if removedAt < 0 {
			t.Fatalf("no status event removes runner %s", sel)
		}
		for _, e := range ofKind(c, replay.KindOdds) {
			if _, ok := e.Prices[sel]; ok && e.T > removedAt {
				t.Fatalf("removed runner %s priced at %d, after its removal at %d", sel, e.T, removedAt)
			}
		}
	}
	// The adjustment factors change before the off, and each change is a
	// status event.
	adjusts := 0
	for i := 1; i < len(statuses); i++ {
		if statuses[i].Status == statuses[i-1].Status && !mapsEqual(statuses[i].Adjust, statuses[i-1].Adjust) {
			adjusts++
		}
	}
	if adjusts == 0 {
		t.Error("no status event for a change of adjustment factors alone")
	}
	if res := ofKind(c, replay.KindResult); len(res) != 1 || !slices.Equal(res[0].Winners, withStatus(runners, "WINNER")) {
		t.Errorf("results %+v, want the file's WINNER %v", res, withStatus(runners, "WINNER"))
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestGreyhoundWin(t *testing.T) {
	path := sharedFile(t, greyhound)
	c, _ := importAll(t, []string{path}, Options{})
	_, runners := lastDefinition(t, path)
	if res := ofKind(c, replay.KindResult); len(res) != 1 || !slices.Equal(res[0].Winners, withStatus(runners, "WINNER")) {
		t.Errorf("results %+v, want the file's WINNER %v", res, withStatus(runners, "WINNER"))
	}
	// The opening image prices all six dogs at once, and the book is a
	// sane one: the back prices' implied probabilities add up to about 1.
	odds := ofKind(c, replay.KindOdds)
	if len(odds[0].Prices) != len(runners) {
		t.Fatalf("the first odds event prices %d runners, the market has %d", len(odds[0].Prices), len(runners))
	}
	var book float64
	for _, p := range odds[0].Prices {
		f, _ := strconv.ParseFloat(p, 64)
		book += 1 / f
	}
	if book < 0.98 || book > 1.1 {
		t.Errorf("the opening back book is %.3f, want about 1 (prices %v)", book, odds[0].Prices)
	}
}

// finalWickets is the wickets per innings in the score feed's last
// matchStats, read here independently of the importer.
func finalWickets(t *testing.T, path string) map[int]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	out := map[int]int{}
	for sc.Scan() {
		var m struct {
			Cc []struct {
				MatchStats *struct {
					InningsStats []struct {
						InningsNum     int `json:"inningsNum"`
						InningsWickets int `json:"inningsWickets"`
					} `json:"inningsStats"`
				} `json:"matchStats"`
			} `json:"cc"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for _, cc := range m.Cc {
			if cc.MatchStats != nil {
				for _, in := range cc.MatchStats.InningsStats {
					out[in.InningsNum] = in.InningsWickets
				}
			}
		}
	}
	return out
}

func TestScoreFeedWickets(t *testing.T) {
	path := sharedFile(t, cricketScore)
	c, _ := importAll(t, []string{path}, Options{})
	final := finalWickets(t, path)
	// Wickets before and after the end of the first innings.
	var wickets [2]int
	innings := 0
	ends := 0
	var prev int64
	// The file also carries, in two messages, another match's last few
	// balls (market 1.200660965); they are that market's incidents.
	var match []replay.Event
	for _, e := range ofKind(c, replay.KindIncident) {
		if e.Market == "1.200806927" {
			match = append(match, e)
		}
	}
	for _, e := range match {
		if e.VendorMS < prev {
			t.Fatalf("incidents out of order: vendor_ms %d after %d", e.VendorMS, prev)
		}
		prev = e.VendorMS
		switch e.Incident {
		case "wicket":
			wickets[innings]++
		case "innings_end":
			ends++
			innings = min(innings+1, 1)
		}
	}
	if ends != 1 {
		t.Errorf("%d innings_end incidents, want 1 (the second innings ended all out, which the feed marks with no INNING_END)", ends)
	}
	// The feed corrects itself now and then (an OUT at 18.6 became one at
	// 18.5), and the capture cannot retract an incident, so a correction
	// can add one; a repeated incident must not.
	for i, w := range wickets {
		if w < final[i+1] || w > final[i+1]+1 {
			t.Errorf("innings %d: %d wicket incidents, the feed's final score has %d wickets", i+1, w, final[i+1])
		}
	}
	tags := map[string]int{}
	for _, e := range match {
		tags[e.Incident]++
	}
	for _, want := range []string{"four", "six", "wide", "leg_bye", "runs:1", "runs:0"} {
		if tags[want] == 0 {
			t.Errorf("no %q incident; tags %v", want, tags)
		}
	}
}

func TestMergeOddsAndScore(t *testing.T) {
	odds, score := sharedFile(t, cricketOdds), sharedFile(t, cricketScore)
	a, sa := importAll(t, []string{odds}, Options{})
	b, sb := importAll(t, []string{score}, Options{})
	m, sm := importAll(t, []string{odds, score}, Options{})
	if m.Header.StartMS != min(a.Header.StartMS, b.Header.StartMS) {
		t.Errorf("merged start_ms %d, want the earlier of %d and %d", m.Header.StartMS, a.Header.StartMS, b.Header.StartMS)
	}
	for _, k := range []replay.Kind{replay.KindOdds, replay.KindStatus, replay.KindResult, replay.KindIncident} {
		if sm.Events[k] != sa.Events[k]+sb.Events[k] {
			t.Errorf("%s: merged %d, separately %d + %d", k, sm.Events[k], sa.Events[k], sb.Events[k])
		}
	}
	// One time order: vendor_ms never goes back, and incidents fall
	// between odds events.
	var prev int64
	interleaved := false
	for i, e := range m.Events {
		if e.VendorMS < prev {
			t.Fatalf("event %d: vendor_ms %d after %d", i, e.VendorMS, prev)
		}
		prev = e.VendorMS
		if i > 0 && e.Kind == replay.KindOdds && m.Events[i-1].Kind == replay.KindIncident {
			interleaved = true
		}
	}
	if !interleaved {
		t.Error("the score feed's incidents and the odds are not interleaved")
	}
}

func TestCricketFromInPlayMinus10m(t *testing.T) {
	path := sharedFile(t, cricketOdds)
	c, st := importAll(t, []string{path}, Options{From: "inplay-10m"})
	d := time.Duration(c.Header.DurationUS) * time.Microsecond
	if d < 3*time.Hour+45*time.Minute || d > 4*time.Hour+15*time.Minute {
		t.Errorf("duration %s, want about 4 hours (the match was in play 3.8 h)", d)
	}
	if st.Folded == 0 {
		t.Error("nothing was folded")
	}
	// The state as of From: one status and one odds event at t_us 0.
	if len(c.Events) < 2 || c.Events[0].T != 0 || c.Events[0].Kind != replay.KindStatus || c.Events[0].Status != replay.StatusOpen ||
		c.Events[1].T != 0 || c.Events[1].Kind != replay.KindOdds || len(c.Events[1].Prices) != 2 {
		t.Fatalf("the capture opens with %+v", c.Events[:min(2, len(c.Events))])
	}
	if c.Events[0].InPlay != nil || c.Events[0].VendorMS >= c.Header.StartMS {
		t.Errorf("opening status %+v: want pre-match, as of a message before From", c.Events[0])
	}
	if len(c.Events) > 2 && c.Events[2].T == 0 {
		t.Errorf("a third event at t_us 0: %+v", c.Events[2])
	}
	// The match turns in play exactly 10 minutes in.
	for _, e := range ofKind(c, replay.KindStatus) {
		if e.InPlay != nil && *e.InPlay {
			if e.T != (10 * time.Minute).Microseconds() {
				t.Errorf("in play at t_us %d, want 10 minutes", e.T)
			}
			break
		}
	}
	if len(ofKind(c, replay.KindResult)) != 1 {
		t.Error("the cut capture lost the result")
	}

	// Until inplay+1h: 70 minutes, and no close.
	c, _ = importAll(t, []string{path}, Options{From: "inplay-10m", Until: "inplay+1h"})
	if d := time.Duration(c.Header.DurationUS) * time.Microsecond; d != 70*time.Minute {
		t.Errorf("duration %s, want 70m", d)
	}
	if len(ofKind(c, replay.KindResult)) != 0 {
		t.Error("a result within the first hour in play")
	}

	// An RFC 3339 From in play: the opening status says so.
	c, _ = importAll(t, []string{path}, Options{From: "2022-07-11T13:00:00Z"})
	if e := c.Events[0]; e.InPlay == nil || !*e.InPlay || e.BetDelayMS == nil || *e.BetDelayMS != 5000 {
		t.Errorf("opening status %+v, want in play with a 5 s delay", e)
	}
	if c.Header.StartMS != time.Date(2022, 7, 11, 13, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("start_ms %d", c.Header.StartMS)
	}
}
