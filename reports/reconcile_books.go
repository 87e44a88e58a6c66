package reports

import (
	"cmp"
	"iter"
	"slices"

	"github.com/inplaylabs/inplay/replay"
)

// bettorKinds are the journal kinds that are bettor requests keyed by id.
var bettorKinds = []replay.Kind{replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout}

// books indexes a journal and a ledger once for every check.
type books struct {
	l    *Ledger
	opts ReconcileOptions

	accounts    map[string]Account
	posted      map[string]int64 // account → Σ its postings
	txs         map[int64]Transaction
	postingsOf  map[int64][]Posting                 // tx id → postings
	txByRef     map[string]map[string][]Transaction // kind → ref → transactions
	bets        map[string][]Bet
	markets     map[string]Market
	imbalance   map[int64]int64 // tx id → Σ its postings (0 when balanced)
	unbalanced  []int64         // tx ids whose postings do not sum to 0, in ledger order
	sentReq     map[replay.Kind]map[string][]replay.JournalEntry
	droppedReq  map[replay.Kind]map[string]bool
	order       map[replay.Kind][]string         // ids in order of first sent request
	firstResult map[string]replay.JournalEntry   // market → the first result the feed published
	timeline    map[string][]replay.JournalEntry // market → its published status events, in plan order
	unlabelled  int                              // published status events with no status (an older journal)
	suspendedAt map[string][]replay.JournalEntry // market → bets rejected EMARKETSUSPENDED on it
}

func index(journal iter.Seq[replay.JournalEntry], l *Ledger, opts ReconcileOptions) *books {
	b := &books{
		l:           l,
		opts:        opts,
		timeline:    map[string][]replay.JournalEntry{},
		suspendedAt: map[string][]replay.JournalEntry{},
		accounts:    map[string]Account{},
		posted:      map[string]int64{},
		txs:         map[int64]Transaction{},
		postingsOf:  map[int64][]Posting{},
		txByRef:     map[string]map[string][]Transaction{},
		bets:        map[string][]Bet{},
		markets:     map[string]Market{},
		imbalance:   map[int64]int64{},
		sentReq:     map[replay.Kind]map[string][]replay.JournalEntry{},
		droppedReq:  map[replay.Kind]map[string]bool{},
		order:       map[replay.Kind][]string{},
		firstResult: map[string]replay.JournalEntry{},
	}
	for _, a := range l.Accounts {
		if _, dup := b.accounts[a.ID]; !dup {
			b.accounts[a.ID] = a
		}
	}
	for _, t := range l.Transactions {
		if _, dup := b.txs[t.ID]; dup {
			continue
		}
		b.txs[t.ID] = t
		if b.txByRef[t.Kind] == nil {
			b.txByRef[t.Kind] = map[string][]Transaction{}
		}
		b.txByRef[t.Kind][t.Ref] = append(b.txByRef[t.Kind][t.Ref], t)
	}
	for _, p := range l.Postings {
		b.posted[p.Account] += p.Amount
		b.postingsOf[p.TxID] = append(b.postingsOf[p.TxID], p)
		b.imbalance[p.TxID] += p.Amount
	}
	for _, t := range l.Transactions {
		if b.imbalance[t.ID] != 0 && !slices.Contains(b.unbalanced, t.ID) {
			b.unbalanced = append(b.unbalanced, t.ID)
		}
	}
	for _, bet := range l.Bets {
		b.bets[bet.ID] = append(b.bets[bet.ID], bet)
	}
	for _, m := range l.Markets {
		if _, dup := b.markets[m.ID]; !dup {
			b.markets[m.ID] = m
		}
	}
	for _, k := range bettorKinds {
		b.sentReq[k] = map[string][]replay.JournalEntry{}
		b.droppedReq[k] = map[string]bool{}
	}
	for e := range journal {
		switch {
		case e.Kind == replay.KindResult:
			if e.Outcome == replay.OutcomeDropped {
				continue
			}
			if _, ok := b.firstResult[e.Market]; !ok {
				b.firstResult[e.Market] = e
			}
		case e.Kind == replay.KindStatus:
			if e.Outcome != replay.OutcomePublished {
				continue
			}
			if e.Status == "" {
				b.unlabelled++
				continue
			}
			b.timeline[e.Market] = append(b.timeline[e.Market], e)
		case b.sentReq[e.Kind] != nil:
			if e.Kind == replay.KindBet && e.Outcome == replay.OutcomeRejected && e.Code == codeMarketSuspended {
				b.suspendedAt[e.Market] = append(b.suspendedAt[e.Market], e)
			}
			switch e.Outcome {
			case replay.OutcomeAccepted, replay.OutcomeRejected, replay.OutcomeUnknown:
				if len(b.sentReq[e.Kind][e.ID]) == 0 {
					b.order[e.Kind] = append(b.order[e.Kind], e.ID)
				}
				b.sentReq[e.Kind][e.ID] = append(b.sentReq[e.Kind][e.ID], e)
			case replay.OutcomeDropped:
				b.droppedReq[e.Kind][e.ID] = true
			}
		}
	}
	return b
}

// refs returns the transactions of the given kinds whose ref is ref.
func (b *books) refs(ref string, kinds ...string) []Transaction {
	var out []Transaction
	for _, k := range kinds {
		out = append(out, b.txByRef[k][ref]...)
	}
	slices.SortFunc(out, func(x, y Transaction) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// credit is what transaction txID moves into account (negative: out of it).
func (b *books) credit(txID int64, account string) int64 {
	var sum int64
	for _, p := range b.postingsOf[txID] {
		if p.Account == account {
			sum += p.Amount
		}
	}
	return sum
}

// hasOutcome reports whether some sent request of kind k with id has outcome o.
func (b *books) hasOutcome(k replay.Kind, id string, o replay.Outcome) bool {
	return slices.ContainsFunc(b.sentReq[k][id], func(e replay.JournalEntry) bool { return e.Outcome == o })
}

// result is a market's result: the platform's own (its markets row), or
// else the first one the feed published (a market is settled once, on its
// first result). ok is false when neither exists.
func (b *books) result(market string) (winners []string, ok bool) {
	if m, found := b.markets[market]; found && m.Resulted {
		return m.Winners, true
	}
	if e, found := b.firstResult[market]; found {
		return e.Winners, true
	}
	return nil, false
}
