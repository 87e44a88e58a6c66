package reports

import (
	"cmp"
	"iter"
	"slices"

	"github.com/inplaylabs/inplay/replay"
)

// bettorKinds are the journal kinds that are bettor requests keyed by id.
var bettorKinds = []replay.Kind{replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout}

// reqKey names the requests of one id.
type reqKey struct {
	kind replay.Kind
	id   string
}

// chain is a chain of entries in one of books' arrays: its first and last
// positions (next links them).
type chain struct{ first, last int32 }

// books indexes a journal and a ledger once for every check. A run of a
// million bets makes its indexes the cost of reconciling, so they hold
// positions into the ledger's own slices and into one array of requests,
// chained, rather than a small slice per id (see BenchmarkReconcile1M).
type books struct {
	l    *Ledger
	opts ReconcileOptions

	accounts map[string]Account
	posted   map[string]int64 // account → Σ its postings
	suspense []string         // the suspense accounts' ids: a few, searched faster than a map

	txPos      map[int64]int32  // tx id → its position in l.Transactions (the first, if repeated)
	refChain   map[string]chain // ref → its transactions' positions, chained by txNext, in ledger order
	txNext     []int32          // by tx position: the next transaction with the same ref, or -1
	postings   []Posting        // grouped by transaction, in ledger order (l.Postings when it already is)
	postStart  []int32          // by tx position: where its postings start in postings (postStart[i+1] ends them)
	imbalance  []int64          // by tx position: Σ its postings (0 when balanced)
	orphans    bool             // some posting names a transaction that does not exist
	unbalanced []int64          // tx ids whose postings do not sum to 0, in ledger order

	betFirst map[string]int32 // bet id → its first row in l.Bets
	betDups  map[string][]Bet // bet id → every row, for the ids with more than one

	markets map[string]Market

	reqs        [][]replay.JournalEntry // every sent bettor request, in journal order, in blocks of reqBlock
	reqNext     []int32                 // by position in reqs: the next request of the same kind and id, or -1
	sentReq     map[reqKey]chain
	droppedReq  map[reqKey]bool
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
		accounts:    make(map[string]Account, len(l.Accounts)),
		posted:      make(map[string]int64, len(l.Accounts)),
		txPos:       make(map[int64]int32, len(l.Transactions)),
		refChain:    make(map[string]chain, len(l.Bets)+len(l.Accounts)),
		txNext:      make([]int32, len(l.Transactions)),
		imbalance:   make([]int64, len(l.Transactions)),
		betFirst:    make(map[string]int32, len(l.Bets)),
		betDups:     map[string][]Bet{},
		markets:     make(map[string]Market, len(l.Markets)),
		sentReq:     make(map[reqKey]chain, len(l.Bets)),
		droppedReq:  map[reqKey]bool{},
		order:       map[replay.Kind][]string{},
		firstResult: map[string]replay.JournalEntry{},
		timeline:    map[string][]replay.JournalEntry{},
		suspendedAt: map[string][]replay.JournalEntry{},
	}
	for _, a := range l.Accounts {
		if _, dup := b.accounts[a.ID]; !dup {
			b.accounts[a.ID] = a
			if a.Kind == AccountSuspense {
				b.suspense = append(b.suspense, a.ID)
			}
		}
	}
	for i, t := range l.Transactions {
		b.txNext[i] = -1
		if _, dup := b.txPos[t.ID]; dup {
			continue
		}
		pos := int32(i)
		b.txPos[t.ID] = pos
		if s, ok := b.refChain[t.Ref]; ok {
			b.txNext[s.last] = pos
			b.refChain[t.Ref] = chain{s.first, pos}
		} else {
			b.refChain[t.Ref] = chain{pos, pos}
		}
	}
	b.groupPostings()
	for i, t := range l.Transactions {
		if b.imbalance[i] != 0 && b.txPos[t.ID] == int32(i) {
			b.unbalanced = append(b.unbalanced, t.ID)
		}
	}
	for i, bet := range l.Bets {
		first, dup := b.betFirst[bet.ID]
		if !dup {
			b.betFirst[bet.ID] = int32(i)
			continue
		}
		if b.betDups[bet.ID] == nil {
			b.betDups[bet.ID] = []Bet{l.Bets[first]}
		}
		b.betDups[bet.ID] = append(b.betDups[bet.ID], bet)
	}
	for _, m := range l.Markets {
		if _, dup := b.markets[m.ID]; !dup {
			b.markets[m.ID] = m
		}
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
		case slices.Contains(bettorKinds, e.Kind):
			if e.Kind == replay.KindBet && e.Outcome == replay.OutcomeRejected && e.Code == codeMarketSuspended {
				b.suspendedAt[e.Market] = append(b.suspendedAt[e.Market], e)
			}
			key := reqKey{e.Kind, e.ID}
			switch e.Outcome {
			case replay.OutcomeAccepted, replay.OutcomeRejected, replay.OutcomeUnknown:
				pos := int32(len(b.reqNext))
				b.addReq(e)
				b.reqNext = append(b.reqNext, -1)
				if s, ok := b.sentReq[key]; ok {
					b.reqNext[s.last] = pos
					b.sentReq[key] = chain{s.first, pos}
				} else {
					b.sentReq[key] = chain{pos, pos}
					b.order[e.Kind] = append(b.order[e.Kind], e.ID)
				}
			case replay.OutcomeDropped:
				b.droppedReq[key] = true
			}
		}
	}
	return b
}

// groupPostings sums every account's and every transaction's postings and
// groups the postings by transaction, in ledger order. A ledger read by id
// (as both sources read it) has them grouped already, and is used as it is.
func (b *books) groupPostings() {
	l := b.l
	n := len(l.Transactions)
	count := make([]int32, n+1)
	grouped, last := true, int32(-1)
	for _, p := range l.Postings {
		b.posted[p.Account] += p.Amount
		pos, ok := b.txPos[p.TxID]
		if !ok {
			b.orphans, grouped = true, false
			continue
		}
		b.imbalance[pos] += p.Amount
		count[pos]++
		if pos < last {
			grouped = false
		}
		last = pos
	}
	b.postStart = make([]int32, n+1)
	for i := range n {
		b.postStart[i+1] = b.postStart[i] + count[i]
	}
	if grouped {
		b.postings = l.Postings
		return
	}
	b.postings = make([]Posting, b.postStart[n])
	next := slices.Clone(b.postStart[:n])
	for _, p := range l.Postings {
		if pos, ok := b.txPos[p.TxID]; ok {
			b.postings[next[pos]] = p
			next[pos]++
		}
	}
}

// tx returns the transaction with id, and whether it exists.
func (b *books) tx(id int64) (Transaction, bool) {
	pos, ok := b.txPos[id]
	if !ok {
		return Transaction{}, false
	}
	return b.l.Transactions[pos], true
}

// postingsOf returns transaction id's postings; nil for an unknown one.
func (b *books) postingsOf(id int64) []Posting {
	pos, ok := b.txPos[id]
	if !ok {
		return nil
	}
	return b.postings[b.postStart[pos]:b.postStart[pos+1]]
}

// imbalanceOf is the sum of transaction id's postings.
func (b *books) imbalanceOf(id int64) int64 {
	pos, ok := b.txPos[id]
	if !ok {
		return 0
	}
	return b.imbalance[pos]
}

// betsOf returns the ledger rows of bet id (more than one is a violation).
func (b *books) betsOf(id string) []Bet {
	i, ok := b.betFirst[id]
	switch {
	case !ok:
		return nil
	case len(b.betDups) > 0 && b.betDups[id] != nil:
		return b.betDups[id]
	}
	return b.l.Bets[i : i+1 : i+1]
}

// firstBetRow reports whether row i of l.Bets is the first with its id.
func (b *books) firstBetRow(i int) bool { return b.betFirst[b.l.Bets[i].ID] == int32(i) }

// sent returns the sent requests of kind k with id, in journal order.
func (b *books) sent(k replay.Kind, id string) []replay.JournalEntry {
	s, ok := b.sentReq[reqKey{k, id}]
	if !ok {
		return nil
	}
	if s.first == s.last {
		blk, at := s.first/reqBlock, s.first%reqBlock
		return b.reqs[blk][at : at+1 : at+1]
	}
	var out []replay.JournalEntry
	for i := s.first; i >= 0; i = b.reqNext[i] {
		out = append(out, b.reqs[i/reqBlock][i%reqBlock])
	}
	return out
}

// reqBlock is how many requests one block of books.reqs holds: blocks, not
// one slice, so that a million requests are never copied to grow it.
const reqBlock = 4096

// addReq appends e to reqs.
func (b *books) addReq(e replay.JournalEntry) {
	if n := len(b.reqs); n == 0 || len(b.reqs[n-1]) == reqBlock {
		b.reqs = append(b.reqs, make([]replay.JournalEntry, 0, reqBlock))
	}
	last := &b.reqs[len(b.reqs)-1]
	*last = append(*last, e)
}

// isSuspense reports whether account is a suspense account.
func (b *books) isSuspense(account string) bool {
	if len(b.suspense) > 32 {
		return b.accounts[account].Kind == AccountSuspense
	}
	return slices.Contains(b.suspense, account)
}

// dropped reports whether a request of kind k with id was dropped.
func (b *books) dropped(k replay.Kind, id string) bool { return b.droppedReq[reqKey{k, id}] }

// refs returns the transactions of the given kinds whose ref is ref, by id.
func (b *books) refs(ref string, kinds ...string) []Transaction {
	s, ok := b.refChain[ref]
	if !ok {
		return nil
	}
	var out []Transaction
	for i := s.first; i >= 0; i = b.txNext[i] {
		if t := b.l.Transactions[i]; slices.Contains(kinds, t.Kind) {
			out = append(out, t)
		}
	}
	if !slices.IsSortedFunc(out, byTxID) {
		slices.SortFunc(out, byTxID)
	}
	return out
}

func byTxID(x, y Transaction) int { return cmp.Compare(x.ID, y.ID) }

// credit is what transaction txID moves into account (negative: out of it).
func (b *books) credit(txID int64, account string) int64 {
	var sum int64
	for _, p := range b.postingsOf(txID) {
		if p.Account == account {
			sum += p.Amount
		}
	}
	return sum
}

// hasOutcome reports whether some sent request of kind k with id has outcome o.
func (b *books) hasOutcome(k replay.Kind, id string, o replay.Outcome) bool {
	return slices.ContainsFunc(b.sent(k, id), func(e replay.JournalEntry) bool { return e.Outcome == o })
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
