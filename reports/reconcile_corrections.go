package reports

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"

	"github.com/inplaylabs/inplay/replay"
)

// Settlement corrections (docs/ledger.md): a market's settlement can be
// rolled back, each settle or void of its bets reversed by a rollback
// transaction with the opposite postings, and the market resettled. A bet's
// chain of settlement transactions must so alternate (settle or void, then
// its rollback, ...), leave at most one standing, and pay by the result
// that stands, with its dead-heat and void factors.

// factors are a result's settlement factors, in parts per 10000.
type factors struct {
	deadHeat map[string]int64 // winner → dead-heat factor; absent: 10000
	void     int64            // the share of each stake refunded
}

// factorsOf returns the factors of market's standing result, as the feed
// published them (the journal). A market the journal has no result for,
// or a factor that does not parse (the capture's validation refuses it),
// is taken without factors: the payout check then says what it expected.
func (b *books) factorsOf(market string) factors {
	var f factors
	e, ok := b.firstResult[market]
	if !ok {
		return f
	}
	for sel, v := range e.DeadHeat {
		if d, err := replay.ParseFactor(v); err == nil {
			if f.deadHeat == nil {
				f.deadHeat = map[string]int64{}
			}
			f.deadHeat[sel] = d
		}
	}
	if e.VoidFactor != "" {
		if v, err := replay.ParseFactor(e.VoidFactor); err == nil {
			f.void = v
		}
	}
	return f
}

// describe says f in words for a witness: "" when there are none.
func (f factors) describe() string {
	var parts []string
	for _, sel := range slices.Sorted(maps.Keys(f.deadHeat)) {
		parts = append(parts, fmt.Sprintf("dead heat %s %d/10000", sel, f.deadHeat[sel]))
	}
	if f.void > 0 {
		parts = append(parts, fmt.Sprintf("void factor %d/10000", f.void))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// settledPayout is docs/ledger.md's payout of a settled bet, stake
// included, in exact integer arithmetic:
//
//	void:  stake
//	won:   floor(stake × v / 10000) + floor(stake × odds_e4 × d × (10000 − v) / 10000³)
//	lost:  floor(stake × v / 10000)
//
// with v the void factor and d the selection's dead-heat factor (10000 when
// none). It is -1 when no int64 can equal it.
func settledPayout(status string, stake, oddsE4 int64, selection string, f factors) int64 {
	if status == BetVoid {
		return stake
	}
	scale := big.NewInt(10000)
	p := new(big.Int).Mul(big.NewInt(stake), big.NewInt(f.void))
	p.Quo(p, scale)
	if status == BetWon {
		d, ok := f.deadHeat[selection]
		if !ok {
			d = 10000
		}
		w := new(big.Int).Mul(big.NewInt(stake), big.NewInt(oddsE4))
		w.Mul(w, big.NewInt(d))
		w.Mul(w, big.NewInt(10000-f.void))
		w.Div(w, new(big.Int).Exp(scale, big.NewInt(3), nil)) // Euclidean: floor for a non-negative product
		p.Add(p, w)
	}
	if !p.IsInt64() {
		return -1
	}
	return p.Int64()
}

// chain is a bet's settlement chain: what stands of its settle, void,
// cash-out and rollback transactions, and what is wrong with them.
type settlementChain struct {
	standing  []Transaction // the ends no rollback reversed, in ledger order
	rollbacks int
	problems  []string
	witness   []string // transactions the problems name
}

// chainOf walks bet id's settle, void, cash-out and rollback transactions
// in ledger order (by id). Each rollback must reverse the end just before
// it, exactly: the same accounts, every amount negated. A cash-out is never
// rolled back: a cashed-out bet is settled for good.
func (b *books) chainOf(id string) settlementChain {
	var c settlementChain
	for _, t := range b.refs(id, TxSettle, TxVoid, TxCashout, TxRollback) { // by id
		if t.Kind != TxRollback {
			c.standing = append(c.standing, t)
			continue
		}
		c.rollbacks++
		if len(c.standing) == 0 {
			c.problems = append(c.problems, fmt.Sprintf("has rollback %s with no settlement before it to reverse", txRef(t.ID)))
			c.witness = append(c.witness, txRef(t.ID))
			continue
		}
		end := c.standing[len(c.standing)-1]
		c.standing = c.standing[:len(c.standing)-1]
		if end.Kind == TxCashout {
			c.problems = append(c.problems, fmt.Sprintf("has rollback %s reversing cashout %s: a cash-out is final", txRef(t.ID), txRef(end.ID)))
			c.witness = append(c.witness, txRef(end.ID), txRef(t.ID))
			continue
		}
		if diff := b.unreversed(end.ID, t.ID); diff != "" {
			c.problems = append(c.problems, fmt.Sprintf("has rollback %s that does not reverse %s %s exactly: %s", txRef(t.ID), end.Kind, txRef(end.ID), diff))
			c.witness = append(c.witness, txRef(end.ID), txRef(t.ID))
		}
	}
	return c
}

// unreversed says how rollback's postings differ from the exact opposite
// of end's, account by account: "" when they are that.
func (b *books) unreversed(end, rollback int64) string {
	net := map[string]int64{}
	for _, p := range b.postingsOf(end) {
		net[p.Account] += p.Amount
	}
	for _, p := range b.postingsOf(rollback) {
		net[p.Account] += p.Amount
	}
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(net)) {
		if net[a] != 0 {
			parts = append(parts, fmt.Sprintf("account %s is left %+d", a, net[a]))
		}
	}
	return strings.Join(parts, ", ")
}
