package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/inplaylabs/inplay/replay"
)

// betAtMostOnce: a bet id takes effect at most once. It has at most one
// ledger row and one stake transaction, and the platform never accepted
// two requests with the same id but different content (the second must be
// refused with ECONFLICT).
func (b *books) betAtMostOnce(c *check) {
	// Every id once: the ledger's bets, then the journal's, then those only
	// a stake transaction names. Only the last two need a set of their own.
	ids := make([]string, 0, len(b.l.Bets))
	for i, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[i])
		if b.firstBetRow(i) {
			ids = append(ids, bet.ID)
		}
	}
	seen := map[string]bool{}
	add := func(id string) {
		if !b.booked(id) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for j, id := range b.order[replay.KindBet] {
		b.pin(id, b.orderSlot[replay.KindBet][j])
		add(id)
	}
	for ti, t := range b.l.Transactions {
		b.pin(t.Ref, b.txSlot[ti])
		if t.Kind == TxStake {
			add(t.Ref)
		}
	}
	for _, id := range ids {
		c.looked(1)
		var problems []string
		witness := []string{id}
		if n := len(b.betsOf(id)); n > 1 {
			problems = append(problems, fmt.Sprintf("has %d ledger rows", n))
		}
		if stakes := b.refs(id, TxStake); len(stakes) > 1 {
			problems = append(problems, fmt.Sprintf("has %d stake transactions", len(stakes)))
			for _, t := range stakes {
				witness = append(witness, txRef(t.ID))
			}
		}
		var accepted []string
		if reqs := b.sent(replay.KindBet, id); len(reqs) > 1 { // one request has one content
			for _, e := range reqs {
				if k := betContent(e); e.Outcome == replay.OutcomeAccepted && !slices.Contains(accepted, k) {
					accepted = append(accepted, k)
				}
			}
		}
		if len(accepted) > 1 {
			problems = append(problems, fmt.Sprintf("was accepted with %d different contents (%s); a reused id with new content must be refused",
				len(accepted), strings.Join(accepted, " vs ")))
		}
		if len(problems) > 0 {
			c.violated("bet "+id+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
}

// betContent renders what a bet request asked for, to compare requests.
// Odds compare by value: "2" and "2.00" are the same request.
func betContent(e replay.JournalEntry) string {
	odds := e.Odds
	if e4, err := replay.ParseOdds(e.Odds); err == nil {
		odds = strconv.FormatInt(e4, 10) + "e-4"
	}
	policy := e.Policy
	if policy == "" {
		policy = "default"
	}
	return fmt.Sprintf("account %s market %s selection %s stake %d odds %s policy %s", e.Account, e.Market, e.Selection, e.Stake, odds, policy)
}

// betMismatch says how a booked bet differs from what request e asked for,
// or "" when it is what was asked: same account, market, selection and
// stake, at odds the request's price policy allows: exactly the requested
// ones (exact), at least them (better, and a request that named no policy:
// the platform's default, docs/api.md), or any (any).
func betMismatch(bet Bet, e replay.JournalEntry) string {
	var diffs []string
	if bet.Account != e.Account {
		diffs = append(diffs, fmt.Sprintf("account %s, requested %s", bet.Account, e.Account))
	}
	if bet.Market != e.Market {
		diffs = append(diffs, fmt.Sprintf("market %s, requested %s", bet.Market, e.Market))
	}
	if bet.Selection != e.Selection {
		diffs = append(diffs, fmt.Sprintf("selection %s, requested %s", bet.Selection, e.Selection))
	}
	if bet.Stake != e.Stake {
		diffs = append(diffs, fmt.Sprintf("stake %d, requested %d", bet.Stake, e.Stake))
	}
	if want, err := replay.ParseOdds(e.Odds); err != nil {
		diffs = append(diffs, fmt.Sprintf("booked although the requested odds %q are invalid", e.Odds))
	} else {
		switch e.Policy {
		case replay.PolicyExact:
			if bet.OddsE4 != want {
				diffs = append(diffs, fmt.Sprintf("odds_e4 %d, not the requested %s (policy exact)", bet.OddsE4, e.Odds))
			}
		case replay.PolicyAny:
		default:
			if bet.OddsE4 < want {
				diffs = append(diffs, fmt.Sprintf("odds_e4 %d, below the requested %s", bet.OddsE4, e.Odds))
			}
		}
	}
	return strings.Join(diffs, ", ")
}

// bookedAsAsked checks a booked bet against the non-rejected requests of
// its id: it must match at least one of them. It returns "" on a match, or
// the differences from the first.
func bookedAsAsked(bet Bet, reqs []replay.JournalEntry) string {
	first := ""
	for _, e := range reqs {
		if e.Outcome == replay.OutcomeRejected {
			continue
		}
		why := betMismatch(bet, e)
		if why == "" {
			return ""
		}
		if first == "" {
			first = why
		}
	}
	return first
}

// moneyMismatch checks a booked deposit or withdrawal transaction against
// the non-rejected requests of its id: the request's account must be
// credited exactly its amount (a withdrawal: debited). It returns "" on a
// match.
func (b *books) moneyMismatch(t Transaction, reqs []replay.JournalEntry) string {
	first := ""
	for _, e := range reqs {
		if e.Outcome == replay.OutcomeRejected {
			continue
		}
		want := e.Amount
		if t.Kind == TxWithdraw {
			want = -e.Amount
		}
		got := b.credit(t.ID, e.Account)
		if got == want {
			return ""
		}
		if first == "" {
			first = fmt.Sprintf("%s moves %d into account %s, but the request was for %d", txRef(t.ID), got, e.Account, want)
		}
	}
	return first
}

// acknowledgedBooked: every acknowledged (accepted) request took effect
// exactly once and as asked. A bet has one ledger row matching the request
// and one stake transaction taking its stake from its account; a deposit or
// withdrawal has one transaction moving its amount; a cash-out left its bet
// cashed out by one cash-out transaction, paying at least the amount the
// bettor accepted.
func (b *books) acknowledgedBooked(c *check) {
	for j, id := range b.order[replay.KindBet] {
		b.pin(id, b.orderSlot[replay.KindBet][j])
		if !b.hasOutcome(replay.KindBet, id, replay.OutcomeAccepted) {
			continue
		}
		c.looked(1)
		var problems []string
		witness := []string{id}
		rows := b.betsOf(id)
		stakes := b.refs(id, TxStake)
		for _, t := range stakes {
			witness = append(witness, txRef(t.ID))
		}
		switch len(rows) {
		case 0:
			problems = append(problems, "was acknowledged but is not in the ledger")
		case 1:
			if why := bookedAsAsked(rows[0], b.sent(replay.KindBet, id)); why != "" {
				problems = append(problems, "was booked with "+why)
			}
		default:
			problems = append(problems, fmt.Sprintf("is in the ledger %d times", len(rows)))
		}
		if len(stakes) != 1 {
			problems = append(problems, fmt.Sprintf("has %d stake transactions, not 1", len(stakes)))
		} else if len(rows) > 0 {
			if got := b.credit(stakes[0].ID, rows[0].Account); got != -rows[0].Stake {
				problems = append(problems, fmt.Sprintf("its stake %s moves %d on account %s, not -%d",
					txRef(stakes[0].ID), got, rows[0].Account, rows[0].Stake))
			}
		}
		if len(problems) > 0 {
			c.violated("bet "+id+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
	for _, k := range []replay.Kind{replay.KindDeposit, replay.KindWithdraw} {
		for j, id := range b.order[k] {
			b.pin(id, b.orderSlot[k][j])
			if !b.hasOutcome(k, id, replay.OutcomeAccepted) {
				continue
			}
			c.looked(1)
			txs := b.refs(id, string(k))
			witness := []string{id}
			for _, t := range txs {
				witness = append(witness, txRef(t.ID))
			}
			switch {
			case len(txs) != 1:
				c.violated(fmt.Sprintf("%s %s was acknowledged but has %d transactions, not 1", k, id, len(txs)), capIDs(witness)...)
			default:
				if why := b.moneyMismatch(txs[0], b.acceptedOnly(k, id)); why != "" {
					c.violated(fmt.Sprintf("%s %s: %s", k, id, why), capIDs(witness)...)
				}
			}
		}
	}
	for j, id := range b.order[replay.KindCashout] {
		b.pin(id, b.orderSlot[replay.KindCashout][j])
		for _, e := range b.sent(replay.KindCashout, id) {
			if e.Outcome != replay.OutcomeAccepted {
				continue
			}
			c.looked(1)
			txs := b.refs(e.Bet, TxCashout)
			witness := []string{id, e.Bet}
			for _, t := range txs {
				witness = append(witness, txRef(t.ID))
			}
			var problems []string
			if rows := b.betsOf(e.Bet); len(rows) != 1 || rows[0].Status != BetCashedOut {
				problems = append(problems, fmt.Sprintf("bet %s is not cashed out in the ledger", e.Bet))
			} else if rows[0].Payout < e.Amount {
				// The bettor accepted Amount; a platform may pay more, never less.
				problems = append(problems, fmt.Sprintf("bet %s was paid %d, less than the %d accepted", e.Bet, rows[0].Payout, e.Amount))
			}
			if len(txs) != 1 {
				problems = append(problems, fmt.Sprintf("bet %s has %d cash-out transactions, not 1", e.Bet, len(txs)))
			}
			if len(problems) > 0 {
				c.violated("cash-out "+id+" was acknowledged but "+strings.Join(problems, "; "), capIDs(witness)...)
			}
			break // one acknowledgement of an id is enough to require the effect
		}
	}
}

// acceptedOnly returns the accepted requests of kind k with id.
func (b *books) acceptedOnly(k replay.Kind, id string) []replay.JournalEntry {
	var out []replay.JournalEntry
	for _, e := range b.sent(k, id) {
		if e.Outcome == replay.OutcomeAccepted {
			out = append(out, e)
		}
	}
	return out
}

// betTxKinds are the transaction kinds whose ref is a bet id.
var betTxKinds = []string{TxStake, TxSettle, TxVoid, TxCashout, TxRollback}

// rejectedNoPostings: a rejected request took no effect. A rejected bet
// has no ledger row and no transaction; a rejected deposit or withdrawal
// has no transaction; a rejected cash-out left its bet with no cash-out
// transaction. An id that was also accepted, or left unknown, by
// another request (a retry, or the same id reused) may legitimately be
// present; its content is checked by the invariants for those outcomes.
func (b *books) rejectedNoPostings(c *check) {
	rejected, retried := 0, 0
	for _, k := range []replay.Kind{replay.KindBet, replay.KindDeposit, replay.KindWithdraw} {
		for j, id := range b.order[k] {
			b.pin(id, b.orderSlot[k][j])
			var rej *replay.JournalEntry
			for _, e := range b.sent(k, id) {
				if e.Outcome == replay.OutcomeRejected {
					rej = &e
					break
				}
			}
			if rej == nil {
				continue
			}
			c.looked(1)
			rejected++
			if b.hasOutcome(k, id, replay.OutcomeAccepted) || b.hasOutcome(k, id, replay.OutcomeUnknown) {
				retried++
				continue
			}
			var txs []Transaction
			rows := 0
			if k == replay.KindBet {
				txs = b.refs(id, betTxKinds...)
				rows = len(b.betsOf(id))
			} else {
				txs = b.refs(id, string(k))
			}
			if rows == 0 && len(txs) == 0 {
				continue
			}
			witness := []string{id}
			for _, t := range txs {
				witness = append(witness, txRef(t.ID))
			}
			code := rej.Code
			if code == "" {
				code = fmt.Sprintf("HTTP %d", rej.HTTPStatus)
			}
			c.violated(fmt.Sprintf("%s %s was rejected (%s) but has %d ledger row(s) and %d transaction(s)",
				k, id, code, rows, len(txs)), capIDs(witness)...)
		}
	}
	// A rejected cash-out left its bet as it was: no cash-out transaction,
	// unless some cash-out of that bet, under any id, was accepted or left
	// unknown (a resend refused after its twin went through, or a second
	// cash-out refused because the first had closed the bet).
	var mayEnd map[string]bool // bets an accepted or unknown cash-out names
	for j, id := range b.order[replay.KindCashout] {
		b.pin(id, b.orderSlot[replay.KindCashout][j])
		for _, e := range b.sent(replay.KindCashout, id) {
			if e.Outcome == replay.OutcomeAccepted || e.Outcome == replay.OutcomeUnknown {
				if mayEnd == nil {
					mayEnd = map[string]bool{}
				}
				mayEnd[e.Bet] = true
			}
		}
	}
	for j, id := range b.order[replay.KindCashout] {
		b.pin(id, b.orderSlot[replay.KindCashout][j])
		var rej *replay.JournalEntry
		for _, e := range b.sent(replay.KindCashout, id) {
			if e.Outcome == replay.OutcomeRejected {
				rej = &e
				break
			}
		}
		if rej == nil {
			continue
		}
		c.looked(1)
		rejected++
		if mayEnd[rej.Bet] {
			retried++
			continue
		}
		txs := b.refs(rej.Bet, TxCashout)
		if len(txs) == 0 {
			continue
		}
		code := rej.Code
		if code == "" {
			code = fmt.Sprintf("HTTP %d", rej.HTTPStatus)
		}
		c.violated(fmt.Sprintf("cash-out %s was rejected (%s) and no other cash-out of bet %s went through, but the bet has %d cash-out transaction(s)",
			id, code, rej.Bet, len(txs)), capIDs(append([]string{id, rej.Bet}, txIDs(txs)...))...)
	}
	c.inv.Note = fmt.Sprintf("%d rejected ids; %d of them were also accepted or unknown under the same id (for a cash-out: of the same bet)", rejected, retried)
}

// unknownResolved: every request with an unknown outcome resolved to
// exactly one of present once (as asked) or absent. The note counts how
// many went each way.
func (b *books) unknownResolved(c *check) {
	present, absent := 0, 0
	for _, k := range bettorKinds {
		for j, id := range b.order[k] {
			b.pin(id, b.orderSlot[k][j])
			if !b.hasOutcome(k, id, replay.OutcomeUnknown) {
				continue
			}
			c.looked(1)
			reqs := b.sent(k, id)
			var why string
			var witness []string
			switch k {
			case replay.KindBet:
				rows, txs := b.betsOf(id), b.refs(id, TxStake)
				witness = append([]string{id}, txIDs(txs)...)
				switch {
				case len(rows) == 0 && len(txs) == 0:
					absent++
				case len(rows) == 0:
					why = fmt.Sprintf("has %d stake transaction(s) but no ledger row", len(txs))
				case len(rows) > 1:
					why = fmt.Sprintf("is present %d times", len(rows))
				case len(txs) != 1:
					why = fmt.Sprintf("is present with %d stake transactions, not 1", len(txs))
				default:
					if d := bookedAsAsked(rows[0], reqs); d != "" {
						why = "is present but booked with " + d
					} else {
						present++
					}
				}
			case replay.KindCashout:
				bet := reqs[0].Bet
				txs := b.refs(bet, TxCashout)
				witness = append([]string{id, bet}, txIDs(txs)...)
				switch len(txs) {
				case 0:
					absent++
				case 1:
					present++
				default:
					why = fmt.Sprintf("left bet %s with %d cash-out transactions", bet, len(txs))
				}
			default:
				txs := b.refs(id, string(k))
				witness = append([]string{id}, txIDs(txs)...)
				switch len(txs) {
				case 0:
					absent++
				case 1:
					if d := b.moneyMismatch(txs[0], reqs); d != "" {
						why = "is present but " + d
					} else {
						present++
					}
				default:
					why = fmt.Sprintf("is present %d times", len(txs))
				}
			}
			if why != "" {
				c.violated(fmt.Sprintf("%s %s had an unknown outcome and %s", k, id, why), capIDs(witness)...)
			}
		}
	}
	c.inv.Note = fmt.Sprintf("%d unknown outcomes: %d present once, %d absent", c.inv.Checked, present, absent)
}

// noPhantomEntries: everything in the ledger was asked for. Every ledger
// bet and every deposit or withdrawal transaction has a request with its id
// that was sent (not dropped), and every stake, settle, void or cash-out
// transaction refers to a bet in the ledger. This is what catches a bet
// booked twice under a new id, or one nobody placed.
func (b *books) noPhantomEntries(c *check) {
	why := func(k replay.Kind, id string) string {
		if b.dropped(k, id) {
			return "its only request was dropped, never sent"
		}
		return "no request with this id is in the journal"
	}
	for bi, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[bi])
		c.looked(1)
		if len(b.sent(replay.KindBet, bet.ID)) == 0 {
			c.violated(fmt.Sprintf("bet %s (account %s, stake %d) is in the ledger but %s", bet.ID, bet.Account, bet.Stake, why(replay.KindBet, bet.ID)), bet.ID)
		}
	}
	for ti, t := range b.l.Transactions {
		b.pin(t.Ref, b.txSlot[ti])
		c.looked(1)
		switch t.Kind {
		case TxDeposit, TxWithdraw:
			k := replay.Kind(t.Kind)
			if len(b.sent(k, t.Ref)) == 0 {
				c.violated(fmt.Sprintf("%s %s (%s) is in the ledger but %s", t.Kind, t.Ref, txRef(t.ID), why(k, t.Ref)), t.Ref, txRef(t.ID))
			}
		default:
			if len(b.betsOf(t.Ref)) == 0 {
				c.violated(fmt.Sprintf("%s %s refers to bet %s, which is not in the ledger", t.Kind, txRef(t.ID), t.Ref), t.Ref, txRef(t.ID))
			}
		}
	}
}
