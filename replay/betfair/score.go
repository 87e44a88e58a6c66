package betfair

import (
	"cmp"
	"slices"
	"strings"

	"github.com/inplaylabs/inplay/replay"
)

// incKey identifies a ball's incident across the score feed's messages.
type incKey struct {
	innings int
	overs   string
	typ     string
}

// score is one match's score-feed state: which incidents were seen.
type score struct {
	innings int            // the current innings, 0 until known
	seen    map[incKey]int // the most incidents with a key in any one list
}

func newScore() *score { return &score{seen: make(map[incKey]int)} }

// newIncident is an incident seen for the first time.
type newIncident struct {
	tag        string
	actualTime int64
	pos        int // position in its list
}

// update takes one cricket change and returns its new incidents, oldest
// first.
//
// The feed sends a rolling list of the last few incidents, newest first,
// in every message, so each incident comes many times; later copies lose
// their innings and participantRef, and a correction re-sends the list with
// a new actualTime on every entry. So an incident is known by (innings,
// overs, incidentType), an entry without innings taking the innings of an
// already seen entry with the same overs and type (the current innings, or
// the one before it, at the turn of an innings), else the current innings;
// and since one ball can have two incidents of a type (two wides), a key
// that a list holds n times, where no list before held it more than k
// times, gives n-k new incidents: its latest ones by actualTime.
func (s *score) update(cc *cricketChange, note func(string)) []newIncident {
	if n := cc.currentInnings; n != nil && *n > s.innings {
		s.setInnings(*n)
	}
	if !cc.hasIncidents {
		return nil
	}
	list := cc.incidents
	keys := make([]incKey, len(list))
	counts := make(map[incKey]int, len(list))
	for i, in := range list {
		if in.typ == "" {
			note("score incident without incidentType, left out")
			continue
		}
		if in.innings != nil && *in.innings > s.innings {
			s.setInnings(*in.innings)
		}
		keys[i] = s.key(in)
		counts[keys[i]]++
	}
	var out []newIncident
	for i, in := range list {
		k := keys[i]
		if in.typ == "" || counts[k] <= s.seen[k] {
			continue
		}
		// The key's latest entries are its new ones.
		var same []int
		for j := range list {
			if keys[j] == k && list[j].typ != "" {
				same = append(same, j)
			}
		}
		slices.SortStableFunc(same, func(a, b int) int { return cmp.Compare(actualTime(list[b]), actualTime(list[a])) })
		for _, j := range same[:counts[k]-s.seen[k]] {
			out = append(out, newIncident{tag: incidentTag(list[j]), actualTime: actualTime(list[j]), pos: j})
		}
		s.seen[k] = counts[k]
	}
	// Oldest first: by actualTime, and for equal times from the end of the
	// list, which the feed sends newest first.
	slices.SortStableFunc(out, func(a, b newIncident) int {
		if c := cmp.Compare(a.actualTime, b.actualTime); c != 0 {
			return c
		}
		return cmp.Compare(b.pos, a.pos)
	})
	return out
}

// key is the incident's identity (see update).
func (s *score) key(in incident) incKey {
	k := incKey{overs: in.overs, typ: in.typ}
	if in.innings != nil {
		k.innings = *in.innings
		return k
	}
	for _, inn := range []int{s.innings, s.innings - 1} {
		k.innings = inn
		if s.seen[k] > 0 {
			return k
		}
	}
	k.innings = s.innings
	return k
}

// setInnings moves to innings n, forgetting incidents of innings before
// the previous one: the list never reaches that far back, and the state
// of a match stays small.
func (s *score) setInnings(n int) {
	s.innings = n
	for k := range s.seen {
		if k.innings < n-1 {
			delete(s.seen, k)
		}
	}
}

func actualTime(in incident) int64 { return in.actualTime }

// incidentTag is the capture's incident for a score-feed incident: OUT is
// "wicket"; a STRIKE (runs off the bat) of 4 is "four", of 6 "six", else
// "runs:N"; WIDE, BYE, LEG_BYE and NO_BALL are "wide", "bye", "leg_bye"
// and "no_ball"; INNING_END is "innings_end"; any other type is its name in
// lower case, with anything but letters, digits and "_" as "_", at most 32
// bytes ("unknown_incident").
func incidentTag(in incident) string {
	switch in.typ {
	case "OUT":
		return "wicket"
	case "STRIKE":
		switch v := in.value; {
		case v == "4":
			return "four"
		case v == "6":
			return "six"
		case v != "" && len(v) <= 3 && strings.Trim(v, "0123456789") == "":
			return "runs:" + v
		}
		return "runs"
	case "WIDE":
		return "wide"
	case "BYE":
		return "bye"
	case "LEG_BYE":
		return "leg_bye"
	case "NO_BALL":
		return "no_ball"
	case "INNING_END", "INNINGS_END":
		return "innings_end"
	}
	var b strings.Builder
	for _, r := range strings.ToLower(in.typ) {
		if b.Len() >= 32 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// incidentEvent is the capture event of a new incident.
func incidentEvent(t, pt int64, marketID string, in newIncident) replay.Event {
	return replay.Event{T: t, Kind: replay.KindIncident, Market: marketID, Incident: in.tag, Producer: Producer, VendorMS: pt}
}
