package reports

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// winPayout is floor(stake × odds_e4 / 10000): what a won bet pays, stake
// included. big.Int keeps it exact whatever the stake.
func winPayout(stake, oddsE4 int64) int64 {
	p := new(big.Int).Mul(big.NewInt(stake), big.NewInt(oddsE4))
	p.Div(p, big.NewInt(10000)) // Euclidean: floor for a non-negative product
	if !p.IsInt64() {
		return -1 // no int64 payout can equal it; the caller reports the mismatch
	}
	return p.Int64()
}

// payoutsExact: every settled bet's status follows from its market's
// result, its payout is recomputed with integer math by docs/ledger.md's
// formula (settledPayout: with no factors, won: floor(stake × odds_e4 /
// 10000), lost: 0, void: the stake; the dead-heat and void factors of the
// result that stands, as the feed published it), the settle or void
// transaction that stands (the last one no rollback reversed) credits the
// player exactly that payout, an open bet has paid nothing, and a cash-out
// paid no more than the bet could have won. The platform's recorded result
// must also agree with the feed's standing one, and a market whose result
// the feed rolled back (and did not result again) must not be resulted.
func (b *books) payoutsExact(c *check) {
	for bi, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[bi])
		c.looked(1)
		var problems []string
		witness := []string{bet.ID}
		switch bet.Status {
		case BetAccepted:
			if bet.Payout != 0 {
				problems = append(problems, fmt.Sprintf("is still open but records payout %d", bet.Payout))
			}
		case BetWon, BetLost, BetVoid:
			winners, ok := b.result(bet.Market)
			if !ok {
				problems = append(problems, fmt.Sprintf("is %s but market %s has no result", bet.Status, bet.Market))
				witness = append(witness, bet.Market)
			} else if want := statusFor(bet.Selection, winners); want != bet.Status {
				problems = append(problems, fmt.Sprintf("is %s but market %s's winners [%s] make it %s",
					bet.Status, bet.Market, strings.Join(winners, ","), want))
				witness = append(witness, bet.Market)
			}
			f := b.factorsOf(bet.Market)
			if want := settledPayout(bet.Status, bet.Stake, bet.OddsE4, bet.Selection, f); bet.Payout != want {
				problems = append(problems, fmt.Sprintf("pays %d but stake %d at odds_e4 %d %s pays %d%s",
					bet.Payout, bet.Stake, bet.OddsE4, bet.Status, want, f.describe()))
			}
			if ch := b.chainOf(bet.ID); len(ch.standing) == 1 && ch.standing[0].Kind == endKindFor(bet.Status) {
				t := ch.standing[0]
				if got := b.credit(t.ID, bet.Account); got != bet.Payout {
					problems = append(problems, fmt.Sprintf("its %s %s credits account %s with %d, not the payout %d",
						t.Kind, txRef(t.ID), bet.Account, got, bet.Payout))
					witness = append(witness, txRef(t.ID))
				}
			}
		case BetCashedOut:
			if most := winPayout(bet.Stake, bet.OddsE4); bet.Payout < 0 || bet.Payout > most {
				problems = append(problems, fmt.Sprintf("was cashed out for %d, outside 0 to %d (the most it could win)", bet.Payout, most))
			}
			if txs := b.refs(bet.ID, TxCashout); len(txs) == 1 {
				if got := b.credit(txs[0].ID, bet.Account); got != bet.Payout {
					problems = append(problems, fmt.Sprintf("its cashout %s credits account %s with %d, not the payout %d",
						txRef(txs[0].ID), bet.Account, got, bet.Payout))
					witness = append(witness, txRef(txs[0].ID))
				}
			}
		default:
			problems = append(problems, fmt.Sprintf("has unknown status %q", bet.Status))
		}
		if len(problems) > 0 {
			c.violated("bet "+bet.ID+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
	// The platform's result against the feed's, for every market with both.
	for _, m := range b.l.Markets {
		if m.Resulted && b.rolledBack[m.ID] {
			c.looked(1)
			c.violated(fmt.Sprintf("market %s records winners [%s] but the feed rolled its result back and sent no other",
				m.ID, strings.Join(m.Winners, ",")), m.ID)
			continue
		}
		e, ok := b.firstResult[m.ID]
		if !m.Resulted || !ok {
			continue
		}
		c.looked(1)
		if !sameSet(m.Winners, e.Winners) {
			c.violated(fmt.Sprintf("market %s records winners [%s] but the feed published [%s]",
				m.ID, strings.Join(m.Winners, ","), strings.Join(e.Winners, ",")), m.ID)
		}
	}
}

// statusFor is the status a bet on selection must settle to, given its
// market's winners: no winners voids the market.
func statusFor(selection string, winners []string) string {
	switch {
	case len(winners) == 0:
		return BetVoid
	case slices.Contains(winners, selection):
		return BetWon
	}
	return BetLost
}

// stakeSettledOnce: a stake reservation ends in at most one standing
// settle, void or cash-out transaction, exactly one once its market is
// resulted, of the kind its status says (won/lost: settle, void: void,
// cashed_out: cashout), and nothing ends a stake that was never reserved.
// A settlement may be corrected: a rollback that reverses the end just
// before it exactly takes it back (chainOf), and the bet may then end
// again; a rollback that reverses nothing, a cash-out, or not exactly, is
// a violation.
func (b *books) stakeSettledOnce(c *check) {
	refs := make([]string, 0, len(b.l.Bets))
	for i, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[i])
		if b.firstBetRow(i) {
			refs = append(refs, bet.ID)
		}
	}
	seen := map[string]bool{}
	for ti, t := range b.l.Transactions {
		b.pin(t.Ref, b.txSlot[ti])
		if !b.booked(t.Ref) && slices.Contains(betTxKinds, t.Kind) && !seen[t.Ref] {
			seen[t.Ref] = true
			refs = append(refs, t.Ref)
		}
	}
	for _, id := range refs {
		c.looked(1)
		stakes := b.refs(id, TxStake)
		ch := b.chainOf(id)
		ends := ch.standing
		witness := append(append([]string{id}, txIDs(ends)...), ch.witness...)
		problems := ch.problems
		if len(stakes) == 0 && (len(ends) > 0 || ch.rollbacks > 0) {
			first := b.refs(id, TxSettle, TxVoid, TxCashout, TxRollback)[0]
			problems = append(problems, fmt.Sprintf("is ended by %s but its stake was never reserved", txRef(first.ID)))
		}
		if len(ends) > 1 {
			problems = append(problems, fmt.Sprintf("is ended %d times (%s)", len(ends), describeTxs(ends)))
		}
		if rows := b.betsOf(id); len(rows) > 0 {
			bet := rows[0]
			m, known := b.markets[bet.Market]
			switch {
			case len(ends) == 0 && bet.Status != BetAccepted:
				problems = append(problems, fmt.Sprintf("is %s but no transaction ended its stake", bet.Status))
			case len(ends) == 0 && known && m.Resulted && len(stakes) > 0:
				problems = append(problems, fmt.Sprintf("is still open although market %s is resulted", bet.Market))
				witness = append(witness, bet.Market)
			case len(ends) == 1 && endKindFor(bet.Status) != ends[0].Kind:
				problems = append(problems, fmt.Sprintf("is %s but is ended by %s %s", bet.Status, ends[0].Kind, txRef(ends[0].ID)))
			}
		}
		if len(problems) > 0 {
			c.violated("stake of bet "+id+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
}

// suspenseMatchesOpenStakes checks the suspense side of every bet, which
// the player-side checks cannot see: a settle that takes the wrong amount
// out of suspense and balances it through house pays the player correctly
// and balances, yet leaves suspense holding money no open bet accounts for.
// It relies on the posting scheme of docs/ledger.md:
//
//   - every stake transaction moves exactly +stake into suspense and
//     exactly −stake out of the bet's account, and posts nowhere else;
//   - every settle, void or cash-out transaction of a bet moves exactly
//     −stake out of suspense, and every rollback exactly +stake back in;
//   - at the end, the suspense accounts hold (by their postings) exactly
//     the stakes of the bets whose status is accepted.
//
// Transactions that refer to no ledger bet have no stake to compare with;
// no_phantom_entries reports them, and the final balance still counts them.
func (b *books) suspenseMatchesOpenStakes(c *check) {
	for ti, t := range b.l.Transactions {
		b.pin(t.Ref, b.txSlot[ti])
		if !slices.Contains(betTxKinds, t.Kind) || len(b.betsOf(t.Ref)) == 0 {
			continue
		}
		c.looked(1)
		bet := b.betsOf(t.Ref)[0]
		var problems []string
		want := -bet.Stake // a settle, void or cash-out releases the stake
		if t.Kind == TxStake || t.Kind == TxRollback {
			want = bet.Stake // a rollback reserves it again
		}
		if got := b.suspenseMoved(t.ID); got != want {
			problems = append(problems, fmt.Sprintf("moves %+d on suspense, not %+d", got, want))
		}
		if t.Kind == TxStake {
			if got := b.credit(t.ID, bet.Account); got != -bet.Stake {
				problems = append(problems, fmt.Sprintf("moves %+d on account %s, not %+d", got, bet.Account, -bet.Stake))
			}
			for _, p := range b.postingsOf(t.ID) {
				if p.Account != bet.Account && !b.isSuspense(p.Account) {
					problems = append(problems, fmt.Sprintf("also posts %+d to account %s (%s)", p.Amount, p.Account, postingRef(p.ID)))
				}
			}
		}
		if len(problems) > 0 {
			c.violated(fmt.Sprintf("%s %s of bet %s (stake %d) %s", t.Kind, txRef(t.ID), bet.ID, bet.Stake, strings.Join(problems, "; ")),
				bet.ID, txRef(t.ID))
		}
	}

	var held, open int64
	var suspense []string
	for _, a := range b.l.Accounts {
		if a.Kind == AccountSuspense && !slices.Contains(suspense, a.ID) {
			suspense = append(suspense, a.ID)
			held += b.posted[a.ID]
		}
	}
	for i, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[i])
		// A repeated row is one bet (bet_at_most_once reports it); its
		// stake was reserved once, so it is counted once.
		if bet.Status == BetAccepted && b.firstBetRow(i) {
			open += bet.Stake
		}
	}
	c.looked(1)
	c.inv.Note = fmt.Sprintf("suspense holds %d; open bets' stakes sum to %d", held, open)
	if held != open {
		c.violated(fmt.Sprintf("the suspense accounts hold %d by their postings, but the stakes of the open (accepted) bets sum to %d (difference %d)",
			held, open, held-open), capIDs(append(suspense, b.suspenseSuspects()...))...)
	}
}

// suspenseMoved is what transaction txID moves into the suspense accounts
// (negative: out of them).
func (b *books) suspenseMoved(txID int64) int64 {
	var sum int64
	for _, p := range b.postingsOf(txID) {
		if b.isSuspense(p.Account) {
			sum += p.Amount
		}
	}
	return sum
}

// suspenseSuspects names what can make the suspense balance differ from
// the open stakes: a bet whose transactions leave in suspense other than
// its stake while open, or other than nothing once ended, with those
// transactions; and a transaction that moves suspense without belonging to
// a ledger bet.
func (b *books) suspenseSuspects() []string {
	var ids []string
	seen := map[string]bool{}
	for bi, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[bi])
		if seen[bet.ID] {
			continue
		}
		seen[bet.ID] = true
		txs := b.refs(bet.ID, betTxKinds...)
		var left, want int64
		for _, t := range txs {
			left += b.suspenseMoved(t.ID)
		}
		if bet.Status == BetAccepted {
			want = bet.Stake
		}
		if left != want {
			ids = append(ids, bet.ID)
			ids = append(ids, txIDs(txs)...)
		}
	}
	for ti, t := range b.l.Transactions {
		b.pin(t.Ref, b.txSlot[ti])
		if b.suspenseMoved(t.ID) != 0 && (!slices.Contains(betTxKinds, t.Kind) || len(b.betsOf(t.Ref)) == 0) {
			ids = append(ids, txRef(t.ID))
		}
	}
	for _, p := range b.l.Postings {
		if _, ok := b.tx(p.TxID); !ok && b.isSuspense(p.Account) {
			ids = append(ids, postingRef(p.ID))
		}
	}
	return ids
}

// endKindFor is the transaction kind that ends a bet of the given status;
// "" for an open bet (nothing may end it).
func endKindFor(status string) string {
	switch status {
	case BetWon, BetLost:
		return TxSettle
	case BetVoid:
		return TxVoid
	case BetCashedOut:
		return TxCashout
	}
	return ""
}

// settlementDrained: after the drain, no bet is still open on a market
// whose result the feed published.
func (b *books) settlementDrained(c *check) {
	suffix := ""
	if b.opts.DrainTimedOut {
		suffix = ", and the drain timed out waiting for it"
		c.inv.Note = "the drain timed out"
	}
	for bi, bet := range b.l.Bets {
		b.pin(bet.ID, b.betSlot[bi])
		e, ok := b.firstResult[bet.Market]
		if !ok {
			continue
		}
		c.looked(1)
		if bet.Status == BetAccepted {
			c.violated(fmt.Sprintf("bet %s is still open although market %s's result was published at %.3fs%s",
				bet.ID, bet.Market, float64(e.IntendedUS)/1e6, suffix), bet.ID, bet.Market)
		}
	}
}
