package reports

import (
	"fmt"
	"slices"
	"strings"
)

// moneyConserved: the money inside the platform (players + house +
// suspense) equals deposits minus withdrawals as booked into player
// accounts, and equals the negative of the cash account (the outside world).
func (b *books) moneyConserved(c *check) {
	var inside, cash, net int64
	for _, a := range b.l.Accounts {
		switch a.Kind {
		case AccountPlayer, AccountHouse, AccountSuspense:
			inside += a.Balance
		case AccountCash:
			cash += a.Balance
		}
	}
	for _, p := range b.l.Postings {
		t, ok := b.tx(p.TxID)
		if ok && (t.Kind == TxDeposit || t.Kind == TxWithdraw) && b.accounts[p.Account].Kind == AccountPlayer {
			net += p.Amount
		}
	}
	c.looked(2)
	if inside != net {
		c.violated(fmt.Sprintf("players, house and suspense hold %d, but deposits minus withdrawals booked into players are %d (difference %d)",
			inside, net, inside-net), b.moneySuspects()...)
	}
	if inside != -cash {
		c.violated(fmt.Sprintf("players, house and suspense hold %d, but the cash account is %d (it should be %d)",
			inside, cash, -inside), b.moneySuspects()...)
	}
}

// moneySuspects names what can make money appear or vanish: transactions
// that touch cash without being a deposit or withdrawal, unbalanced
// transactions, and accounts whose stored balance disagrees with their
// postings. It falls back to the cash account.
func (b *books) moneySuspects() []string {
	var ids []string
	add := func(id string) {
		if len(ids) < MaxWitnesses && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, p := range b.l.Postings {
		t, ok := b.tx(p.TxID)
		if ok && b.accounts[p.Account].Kind == AccountCash && t.Kind != TxDeposit && t.Kind != TxWithdraw {
			add(txRef(t.ID))
		}
	}
	for _, t := range b.l.Transactions {
		if t.Kind != TxDeposit && t.Kind != TxWithdraw {
			continue
		}
		var player, cash int64
		for _, p := range b.postingsOf(t.ID) {
			switch b.accounts[p.Account].Kind {
			case AccountPlayer:
				player += p.Amount
			case AccountCash:
				cash += p.Amount
			}
		}
		if player != -cash {
			add(txRef(t.ID))
		}
	}
	for _, id := range b.unbalanced {
		add(txRef(id))
	}
	for _, a := range b.l.Accounts {
		if a.Balance != b.posted[a.ID] {
			add(a.ID)
		}
	}
	if len(ids) == 0 {
		ids = append(ids, AccountCash)
	}
	return ids
}

// doubleEntry: every transaction has at least two postings summing to 0,
// every posting belongs to a transaction, and all postings sum to 0.
func (b *books) doubleEntry(c *check) {
	var total int64
	for _, t := range b.l.Transactions {
		c.looked(1)
		ps := b.postingsOf(t.ID)
		var problems []string
		if len(ps) < 2 {
			problems = append(problems, fmt.Sprintf("has %d posting(s); double entry needs at least 2", len(ps)))
		}
		if sum := b.imbalanceOf(t.ID); sum != 0 {
			problems = append(problems, fmt.Sprintf("its postings sum to %d, not 0", sum))
		}
		if len(problems) > 0 {
			c.violated(fmt.Sprintf("%s %s %s", t.Kind, txRef(t.ID), strings.Join(problems, " and ")), txRef(t.ID), t.Ref)
		}
	}
	for _, p := range b.l.Postings {
		total += p.Amount
		if _, ok := b.tx(p.TxID); !ok {
			c.looked(1)
			c.violated(fmt.Sprintf("%s belongs to %s, which does not exist", postingRef(p.ID), txRef(p.TxID)),
				postingRef(p.ID), txRef(p.TxID))
		}
	}
	c.looked(1)
	if total != 0 {
		ids := make([]string, 0, len(b.unbalanced))
		for _, id := range b.unbalanced {
			ids = append(ids, txRef(id))
		}
		c.violated(fmt.Sprintf("all postings together sum to %d, not 0", total), capIDs(ids)...)
	}
}

// balancesMatchPostings: each account's stored balance equals the sum of
// its postings, and every posting names a known account. A witness names
// the account and any unbalanced transaction whose imbalance exactly
// accounts for the difference: the likely place a posting went missing.
func (b *books) balancesMatchPostings(c *check) {
	for _, a := range b.l.Accounts {
		c.looked(1)
		diff := a.Balance - b.posted[a.ID]
		if diff == 0 {
			continue
		}
		ids := []string{a.ID}
		for _, id := range b.unbalanced {
			if diff+b.imbalanceOf(id) == 0 {
				ids = append(ids, txRef(id))
			}
		}
		c.violated(fmt.Sprintf("account %s stores balance %d but its postings sum to %d (difference %d)",
			a.ID, a.Balance, b.posted[a.ID], diff), capIDs(ids)...)
	}
	for _, p := range b.l.Postings {
		if _, ok := b.accounts[p.Account]; !ok {
			c.looked(1)
			c.violated(fmt.Sprintf("%s moves %d into account %s, which does not exist", postingRef(p.ID), p.Amount, p.Account),
				postingRef(p.ID), p.Account)
		}
	}
}

// noNegativeBalance: no account that may not go negative is below zero,
// by its stored balance or by its postings.
func (b *books) noNegativeBalance(c *check) {
	for _, a := range b.l.Accounts {
		if a.AllowNegative {
			continue
		}
		c.looked(1)
		switch {
		case a.Balance < 0:
			c.violated(fmt.Sprintf("%s account %s has balance %d but may not go negative", a.Kind, a.ID, a.Balance), a.ID)
		case b.posted[a.ID] < 0:
			c.violated(fmt.Sprintf("%s account %s's postings sum to %d but it may not go negative", a.Kind, a.ID, b.posted[a.ID]), a.ID)
		}
	}
}
