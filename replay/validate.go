package replay

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Validate checks e against the field table of capture format v1: a known
// kind, every field that kind requires, no field it does not use, valid odds,
// a known status and a positive stake or amount. It returns nil, or one error
// that lists every problem, separated by "; ".
func (e Event) Validate() error {
	p := e.problems()
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

// fieldSet names the optional fields of Event that one kind uses; t_us and
// kind are used by every kind.
type fieldSet struct {
	market, prices, status, winners, account, id, bet, selection, odds, stake, amount, incident bool
}

// kindFields is the field table of capture format v1 (see the package doc).
var kindFields = map[Kind]fieldSet{
	KindOdds:     {market: true, prices: true},
	KindStatus:   {market: true, status: true},
	KindResult:   {market: true, winners: true},
	KindDeposit:  {account: true, id: true, amount: true},
	KindWithdraw: {account: true, id: true, amount: true},
	KindBet:      {account: true, id: true, market: true, selection: true, odds: true, stake: true},
	KindCashout:  {account: true, id: true, bet: true, amount: true},
	KindIncident: {market: true, incident: true},
	KindRollback: {market: true},
}

// problems returns every way e breaks the field table, as sentences.
func (e Event) problems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if e.T < 0 {
		add("t_us %d is negative", e.T)
	}
	uses, ok := kindFields[e.Kind]
	if !ok {
		if e.Kind == "" {
			add("kind is missing")
		} else {
			add("unknown kind %q (want odds, status, result, incident, rollback, bet, cashout, deposit or withdraw)", e.Kind)
		}
		return out
	}
	// Every field is either required (and checked) or must be absent: a
	// stray field is most often a mistake in whatever wrote the capture.
	present := fieldSet{
		market: e.Market != "", prices: e.Prices != nil, status: e.Status != "",
		winners: len(e.Winners) > 0, account: e.Account != "", id: e.ID != "",
		bet: e.Bet != "", selection: e.Selection != "", odds: e.Odds != "",
		stake: e.Stake != 0, amount: e.Amount != 0, incident: e.Incident != "",
	}
	for _, f := range []struct {
		name          string
		uses, present bool
	}{
		{"market", uses.market, present.market},
		{"prices", uses.prices, present.prices},
		{"status", uses.status, present.status},
		{"winners", uses.winners, present.winners},
		{"account", uses.account, present.account},
		{"id", uses.id, present.id},
		{"bet", uses.bet, present.bet},
		{"selection", uses.selection, present.selection},
		{"odds", uses.odds, present.odds},
		{"stake", uses.stake, present.stake},
		{"amount", uses.amount, present.amount},
		{"incident", uses.incident, present.incident},
	} {
		switch {
		case !f.uses && f.present:
			add("field %s is not used by kind %s", f.name, e.Kind)
		case f.uses && !f.present && (f.name == "stake" || f.name == "amount"):
			// Zero is how an absent number decodes, so both read the same.
			add("%s event lacks a positive %s", e.Kind, f.name)
		case f.uses && !f.present && f.name != "winners":
			// An empty winners list is a void result, so it is never missing.
			add("%s event lacks %s", e.Kind, f.name)
		}
	}
	if uses.prices {
		if e.Prices != nil && len(e.Prices) == 0 {
			add("odds event has no prices")
		}
		for _, sel := range sortedKeys(e.Prices) {
			if sel == "" {
				add("prices has an empty selection id")
			}
			if _, err := ParseOdds(e.Prices[sel]); err != nil {
				add("prices[%q]: %v", sel, err)
			}
		}
	}
	if uses.status && present.status && e.Status != StatusOpen && e.Status != StatusSuspended && e.Status != StatusClosed {
		add("unknown status %q (want open, suspended or closed)", e.Status)
	}
	if uses.winners {
		for i, w := range e.Winners {
			if w == "" {
				add("winners[%d] is empty", i)
			} else if slices.Contains(e.Winners[:i], w) {
				add("winners lists %q twice", w)
			}
		}
	}
	if uses.odds && present.odds {
		if _, err := ParseOdds(e.Odds); err != nil {
			add("%v", err)
		}
	}
	if uses.stake && e.Stake < 0 {
		add("stake %d is not positive", e.Stake)
	}
	if uses.amount && e.Amount < 0 {
		add("amount %d is not positive", e.Amount)
	}
	out = append(out, e.optionalProblems()...)
	return out
}

// optionalProblems checks the optional fields: each only on the kinds that
// use it, and each with a valid value.
func (e Event) optionalProblems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	status, feed, bet, result := e.Kind == KindStatus, e.Kind.IsFeed(), e.Kind == KindBet, e.Kind == KindResult
	for _, f := range []struct {
		name          string
		uses, present bool
	}{
		{"in_play", status, e.InPlay != nil},
		{"bet_delay_ms", status, e.BetDelayMS != nil},
		{"removed", status, e.Removed != nil},
		{"adjust", status, e.Adjust != nil},
		{"producer", feed, e.Producer != ""},
		{"vendor_ms", feed, e.VendorMS != 0},
		{"policy", bet, e.Policy != ""},
		{"dead_heat", result, e.DeadHeat != nil},
		{"void_factor", result, e.VoidFactor != ""},
	} {
		if f.present && !f.uses {
			add("field %s is not used by kind %s", f.name, e.Kind)
		}
	}
	if status && e.BetDelayMS != nil && (*e.BetDelayMS < 0 || *e.BetDelayMS > MaxBetDelayMS) {
		add("bet_delay_ms %d is outside 0..%d", *e.BetDelayMS, MaxBetDelayMS)
	}
	if status {
		for i, sel := range e.Removed {
			if sel == "" {
				add("removed[%d] is empty", i)
			} else if slices.Contains(e.Removed[:i], sel) {
				add("removed lists %q twice", sel)
			}
		}
		for _, sel := range sortedKeys(e.Adjust) {
			if sel == "" {
				add("adjust has an empty selection id")
			}
			if !validPercent(e.Adjust[sel]) {
				add("adjust[%q] is %q; want a decimal percentage between 0 and 100, like \"12.5\"", sel, e.Adjust[sel])
			}
		}
	}
	if feed && e.VendorMS < 0 {
		add("vendor_ms %d is negative", e.VendorMS)
	}
	if result {
		out = append(out, e.factorProblems()...)
	}
	if bet && e.Policy != "" && e.Policy != PolicyExact && e.Policy != PolicyBetter && e.Policy != PolicyAny {
		add("unknown policy %q (want exact, better or any)", e.Policy)
	}
	return out
}

// factorProblems checks a result's dead_heat and void_factor: each a
// factor (ParseFactor), a dead heat only for a winner, and neither on a void
// result, whose stakes all come back already.
func (e Event) factorProblems() []string {
	var out []string
	if e.DeadHeat != nil && len(e.DeadHeat) == 0 {
		out = append(out, "dead_heat is empty; leave it out when no winner dead-heated")
	}
	for _, sel := range sortedKeys(e.DeadHeat) {
		if !slices.Contains(e.Winners, sel) {
			out = append(out, fmt.Sprintf("dead_heat names %q, which is not a winner", sel))
		}
		if _, err := ParseFactor(e.DeadHeat[sel]); err != nil {
			out = append(out, fmt.Sprintf("dead_heat[%q]: %v", sel, err))
		}
	}
	if e.VoidFactor != "" {
		if _, err := ParseFactor(e.VoidFactor); err != nil {
			out = append(out, fmt.Sprintf("void_factor: %v", err))
		} else if len(e.Winners) == 0 {
			out = append(out, "void_factor on a void result (no winners), which refunds every stake whole")
		}
	}
	return out
}

// validPercent reports whether s is a plain decimal between 0 and 100, with
// at most four fractional digits ("0", "12.5", "100").
func validPercent(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 3 || (dot && (frac == "" || len(frac) > 4)) {
		return false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return false
		}
	}
	if len(whole) > 1 && whole[0] == '0' {
		return false
	}
	n := 0
	for _, r := range whole {
		n = n*10 + int(r-'0')
	}
	return n < 100 || (n == 100 && strings.Trim(frac, "0") == "")
}

// problems returns every way h is not a valid capture header.
func (h Header) problems() []string {
	var out []string
	if h.Capture != CaptureVersion {
		out = append(out, fmt.Sprintf("header: capture is %q, want %q", h.Capture, CaptureVersion))
	}
	if h.DurationUS < 0 {
		out = append(out, fmt.Sprintf("header: duration_us %d is negative", h.DurationUS))
	}
	if h.StartMS < 0 {
		out = append(out, fmt.Sprintf("header: start_ms %d is negative", h.StartMS))
	}
	return out
}

// sortedKeys returns m's keys in order, so problems come out in a stable order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
