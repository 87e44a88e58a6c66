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

// slot is where one id's rows are.
type slot struct {
	bet  int32    // its first row in l.Bets, or -1
	txs  chain    // the transactions whose ref it is
	reqs [4]chain // its sent requests, by bettorKinds (kindIndex)
}

// noChain is an empty chain.
var noChain = chain{-1, -1}

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

	txPos      map[int64]int32 // tx id → its position in l.Transactions (the first, if repeated); nil when dense
	txDense    bool            // transaction ids are firstTxID, firstTxID+1, ... in order: a position is id − firstTxID
	firstTxID  int64
	txNext     []int32   // by tx position: the next transaction with the same ref (txs chains them), or -1
	postings   []Posting // grouped by transaction, in ledger order (l.Postings when it already is)
	postStart  []int32   // by tx position: where its postings start in postings (postStart[i+1] ends them)
	imbalance  []int64   // by tx position: Σ its postings (0 when balanced)
	orphans    bool      // some posting names a transaction that does not exist
	unbalanced []int64   // tx ids whose postings do not sum to 0, in ledger order

	// slots hold, for every id the ledger or the journal names (bet,
	// deposit, withdrawal and cash-out ids, and transaction refs), where its
	// rows are: one map lookup finds them all, and the last is remembered,
	// since a check asks about one id several times in a row.
	slotOf   map[string]int32
	slots    []slot
	lastID   string
	lastSlot int32            // -1: lastID has no slot
	firstRow []bool           // by row of l.Bets: the first row with its id
	betSlot  []int32          // by row of l.Bets: its id's slot
	txSlot   []int32          // by position in l.Transactions: its ref's slot
	betDups  map[string][]Bet // bet id → every row, for the ids with more than one

	markets map[string]Market

	reqs        [][]replay.JournalEntry // every sent bettor request, in journal order, in blocks of reqBlock
	reqNext     []int32                 // by position in reqs: the next request of the same kind and id, or -1
	droppedReq  map[reqKey]bool
	order       map[replay.Kind][]string         // ids in order of first sent request
	orderSlot   map[replay.Kind][]int32          // their slots
	firstResult map[string]replay.JournalEntry   // market → the result that stands: the first the feed published after its last rollback
	rolledBack  map[string]bool                  // market → the feed's last correction of it is a rollback no result followed
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
		txNext:      make([]int32, len(l.Transactions)),
		imbalance:   make([]int64, len(l.Transactions)),
		slotOf:      make(map[string]int32, len(l.Bets)+len(l.Accounts)),
		slots:       make([]slot, 0, len(l.Bets)+len(l.Accounts)),
		lastSlot:    -1,
		firstRow:    make([]bool, len(l.Bets)),
		betSlot:     make([]int32, len(l.Bets)),
		txSlot:      make([]int32, len(l.Transactions)),
		orderSlot:   map[replay.Kind][]int32{},
		betDups:     map[string][]Bet{},
		markets:     make(map[string]Market, len(l.Markets)),
		droppedReq:  map[reqKey]bool{},
		order:       map[replay.Kind][]string{},
		firstResult: map[string]replay.JournalEntry{},
		rolledBack:  map[string]bool{},
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
	b.txDense = true
	for i, t := range l.Transactions {
		if t.ID != l.Transactions[0].ID+int64(i) {
			b.txDense = false
			break
		}
	}
	if len(l.Transactions) > 0 {
		b.firstTxID = l.Transactions[0].ID
	}
	if !b.txDense {
		b.txPos = make(map[int64]int32, len(l.Transactions))
	}
	for i, t := range l.Transactions {
		b.txNext[i] = -1
		if !b.txDense {
			if _, dup := b.txPos[t.ID]; dup {
				_, b.txSlot[i] = b.slotMake(t.Ref)
				continue
			}
			b.txPos[t.ID] = int32(i)
		}
		pos := int32(i)
		sl, si := b.slotMake(t.Ref)
		b.txSlot[i] = si
		if sl.txs.first < 0 {
			sl.txs = chain{pos, pos}
		} else {
			b.txNext[sl.txs.last] = pos
			sl.txs.last = pos
		}
	}
	b.groupPostings()
	for i, t := range l.Transactions {
		if b.imbalance[i] != 0 && b.txIndex(t.ID) == int32(i) {
			b.unbalanced = append(b.unbalanced, t.ID)
		}
	}
	for i, bet := range l.Bets {
		sl, si := b.slotMake(bet.ID)
		b.betSlot[i] = si
		if sl.bet < 0 {
			sl.bet, b.firstRow[i] = int32(i), true
			continue
		}
		if b.betDups[bet.ID] == nil {
			b.betDups[bet.ID] = []Bet{l.Bets[sl.bet]}
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
				delete(b.rolledBack, e.Market)
			}
		case e.Kind == replay.KindRollback:
			// A market is settled on its first result; a rollback undoes
			// it, and the next result settles it again (docs/ledger.md).
			if e.Outcome == replay.OutcomeDropped {
				continue
			}
			delete(b.firstResult, e.Market)
			b.rolledBack[e.Market] = true
		case e.Kind == replay.KindStatus:
			if e.Outcome != replay.OutcomePublished {
				continue
			}
			if e.Status == "" {
				b.unlabelled++
				continue
			}
			b.timeline[e.Market] = append(b.timeline[e.Market], e)
		case kindIndex(e.Kind) >= 0:
			if e.Kind == replay.KindBet && e.Outcome == replay.OutcomeRejected && e.Code == codeMarketSuspended {
				b.suspendedAt[e.Market] = append(b.suspendedAt[e.Market], e)
			}
			switch e.Outcome {
			case replay.OutcomeAccepted, replay.OutcomeRejected, replay.OutcomeUnknown:
				pos := int32(len(b.reqNext))
				b.addReq(e)
				b.reqNext = append(b.reqNext, -1)
				sl, si := b.slotMake(e.ID)
				c := &sl.reqs[kindIndex(e.Kind)]
				if c.first >= 0 {
					b.reqNext[c.last] = pos
					c.last = pos
				} else {
					*c = chain{pos, pos}
					b.order[e.Kind] = append(b.order[e.Kind], e.ID)
					b.orderSlot[e.Kind] = append(b.orderSlot[e.Kind], si)
				}
			case replay.OutcomeDropped:
				b.droppedReq[reqKey{e.Kind, e.ID}] = true
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
		pos := b.txIndex(p.TxID)
		if pos < 0 {
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
		if pos := b.txIndex(p.TxID); pos >= 0 {
			b.postings[next[pos]] = p
			next[pos]++
		}
	}
}

// kindIndex is k's index in bettorKinds, -1 for another kind.
func kindIndex(k replay.Kind) int {
	switch k {
	case replay.KindBet:
		return 0
	case replay.KindDeposit:
		return 1
	case replay.KindWithdraw:
		return 2
	case replay.KindCashout:
		return 3
	}
	return -1
}

// slotMake returns id's slot, making it if needed, and its index.
func (b *books) slotMake(id string) (*slot, int32) {
	i, ok := b.slotOf[id]
	if !ok {
		i = int32(len(b.slots))
		b.slots = append(b.slots, slot{bet: -1, txs: noChain, reqs: [4]chain{noChain, noChain, noChain, noChain}})
		b.slotOf[id] = i
		b.lastID, b.lastSlot = "", -1
	}
	return &b.slots[i], i
}

// pin tells slotFor that id's slot is i, which the caller knows already.
func (b *books) pin(id string, i int32) { b.lastID, b.lastSlot = id, i }

// slotFor returns id's slot, nil when neither ledger nor journal names id.
func (b *books) slotFor(id string) *slot {
	if id != b.lastID || b.lastID == "" {
		i, ok := b.slotOf[id]
		if !ok {
			i = -1
		}
		b.lastID, b.lastSlot = id, i
	}
	if b.lastSlot < 0 {
		return nil
	}
	return &b.slots[b.lastSlot]
}

// txIndex is transaction id's position in l.Transactions, -1 if none.
func (b *books) txIndex(id int64) int32 {
	if b.txDense {
		if d := id - b.firstTxID; d >= 0 && d < int64(len(b.l.Transactions)) {
			return int32(d)
		}
		return -1
	}
	if pos, ok := b.txPos[id]; ok {
		return pos
	}
	return -1
}

// tx returns the transaction with id, and whether it exists.
func (b *books) tx(id int64) (Transaction, bool) {
	pos := b.txIndex(id)
	if pos < 0 {
		return Transaction{}, false
	}
	return b.l.Transactions[pos], true
}

// postingsOf returns transaction id's postings; nil for an unknown one.
func (b *books) postingsOf(id int64) []Posting {
	pos := b.txIndex(id)
	if pos < 0 {
		return nil
	}
	return b.postings[b.postStart[pos]:b.postStart[pos+1]]
}

// imbalanceOf is the sum of transaction id's postings.
func (b *books) imbalanceOf(id int64) int64 {
	pos := b.txIndex(id)
	if pos < 0 {
		return 0
	}
	return b.imbalance[pos]
}

// booked reports whether the ledger has a bet with id.
func (b *books) booked(id string) bool {
	sl := b.slotFor(id)
	return sl != nil && sl.bet >= 0
}

// betsOf returns the ledger rows of bet id (more than one is a violation).
func (b *books) betsOf(id string) []Bet {
	sl := b.slotFor(id)
	switch {
	case sl == nil || sl.bet < 0:
		return nil
	case len(b.betDups) > 0 && b.betDups[id] != nil:
		return b.betDups[id]
	}
	return b.l.Bets[sl.bet : sl.bet+1 : sl.bet+1]
}

// firstBetRow reports whether row i of l.Bets is the first with its id.
func (b *books) firstBetRow(i int) bool { return b.firstRow[i] }

// sent returns the sent requests of kind k with id, in journal order.
func (b *books) sent(k replay.Kind, id string) []replay.JournalEntry {
	sl, ki := b.slotFor(id), kindIndex(k)
	if sl == nil || ki < 0 || sl.reqs[ki].first < 0 {
		return nil
	}
	s := sl.reqs[ki]
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
	sl := b.slotFor(ref)
	if sl == nil {
		return nil
	}
	// One match, the usual answer, is a piece of l.Transactions: no copy.
	n, at := 0, int32(-1)
	for i := sl.txs.first; i >= 0; i = b.txNext[i] {
		if slices.Contains(kinds, b.l.Transactions[i].Kind) {
			if n++; n == 1 {
				at = i
			}
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		return b.l.Transactions[at : at+1 : at+1]
	}
	out := make([]Transaction, 0, n)
	for i := sl.txs.first; i >= 0; i = b.txNext[i] {
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
// else the one the feed's stream left standing (a market is settled on its
// first result, and again on the first after each rollback). ok is false
// when neither exists.
func (b *books) result(market string) (winners []string, ok bool) {
	if m, found := b.markets[market]; found && m.Resulted {
		return m.Winners, true
	}
	if e, found := b.firstResult[market]; found {
		return e.Winners, true
	}
	return nil, false
}
