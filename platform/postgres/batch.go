package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/platform"
)

// GroupCommit says how PlaceBet gathers bets into shared database
// transactions (docs/ledger.md, "Group commit"). Up to MaxInFlight batches
// run at once, and no two of them hold bets of one account, so they never
// wait on one another's player rows. A bet is sent at once when a batch
// may start and no batch in flight holds its account, so at low load it
// waits for no one; otherwise it queues, and the queue goes, at most
// MaxBatch bets at a time, as soon as a batch finishes.
type GroupCommit struct {
	MaxInFlight int
	MaxBatch    int
}

// DefaultGroupCommit is what NewStore uses.
var DefaultGroupCommit = GroupCommit{MaxInFlight: 2, MaxBatch: 128}

// batchTimeout bounds one batch's database work. A batch serves many
// callers, so no one caller's context may cancel it; this keeps a wedged
// connection from holding every caller of the batch for ever.
const batchTimeout = 30 * time.Second

// The states of a queued bet. A caller whose context ends while its bet is
// still queued withdraws it; once a batch has taken it, the caller waits
// for the batch's answer, which is what committed.
const (
	callQueued int32 = iota
	callTaken
	callWithdrawn
)

// betCall is one PlaceBet waiting for its batch.
type betCall struct {
	bet   platform.Bet
	req   platform.BetRequest
	state atomic.Int32
	done  chan betAnswer // buffered: the batch never blocks on a caller
}

type betAnswer struct {
	bet     *platform.Bet
	created bool
	err     error
}

// batcher queues bets and runs their batches. It has no goroutine of its
// own: a batch runs in a goroutine started for it, so a Store that is never
// closed leaks nothing.
type batcher struct {
	store *Store
	cfg   GroupCommit

	mu       sync.Mutex
	idle     *sync.Cond // broadcast when nothing is queued or in flight
	queue    []*betCall // in arrival order
	inFlight int
	busy     map[string]bool // accounts with a bet in a batch in flight
	closed   bool
}

func newBatcher(s *Store, cfg GroupCommit) *batcher {
	cfg.MaxInFlight = max(cfg.MaxInFlight, 1)
	b := &batcher{store: s, cfg: cfg, busy: map[string]bool{}}
	b.idle = sync.NewCond(&b.mu)
	return b
}

// place queues bet and waits for its answer.
func (b *batcher) place(ctx context.Context, bet platform.Bet, req platform.BetRequest) (*platform.Bet, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("postgres: bet %s not sent: %w", bet.ID, err)
	}
	c := &betCall{bet: bet, req: req, done: make(chan betAnswer, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, false, fmt.Errorf("postgres: bet %s not sent: the store is closed", bet.ID)
	}
	b.queue = append(b.queue, c)
	b.kick()
	b.mu.Unlock()
	select {
	case a := <-c.done:
		return a.bet, a.created, a.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(callQueued, callWithdrawn) {
			return nil, false, fmt.Errorf("postgres: bet %s not sent: %w", bet.ID, ctx.Err())
		}
		a := <-c.done // sent: answer with what committed
		return a.bet, a.created, a.err
	}
}

// kick starts batches while one may start and a queued bet's account is
// free. A bet whose account is held by a batch in flight stays queued, and
// so do the later bets of that account, so each account's bets are booked
// in arrival order. b.mu must be held.
func (b *batcher) kick() {
	for b.inFlight < b.cfg.MaxInFlight && len(b.queue) > 0 {
		var (
			calls    []*betCall
			accounts = map[string]bool{}
			rest     = b.queue[:0]
		)
		for _, c := range b.queue {
			switch {
			case c.state.Load() == callWithdrawn:
				// dropped from the queue
			case len(calls) < b.cfg.MaxBatch && !b.busy[c.bet.Account] && c.state.CompareAndSwap(callQueued, callTaken):
				calls = append(calls, c)
				accounts[c.bet.Account] = true
			default:
				rest = append(rest, c)
			}
		}
		clear(b.queue[len(rest):])
		b.queue = rest
		if len(calls) == 0 {
			break // every queued bet waits for its account
		}
		for a := range accounts {
			b.busy[a] = true
		}
		b.inFlight++
		go b.run(calls, accounts)
	}
	if len(b.queue) == 0 && b.inFlight == 0 {
		b.idle.Broadcast()
	}
}

// run books one batch, answers its callers, and starts what is due next.
func (b *batcher) run(calls []*betCall, accounts map[string]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	answers := b.store.bookBatch(ctx, calls)
	cancel()
	for i, c := range calls {
		c.done <- answers[i]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for a := range accounts {
		delete(b.busy, a)
	}
	b.inFlight--
	b.kick()
}

// close refuses new bets and waits until every queued and in-flight one is
// answered.
func (b *batcher) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.kick() // drops withdrawn bets, which nothing else may come to drop
	for len(b.queue) > 0 || b.inFlight > 0 {
		b.idle.Wait()
	}
}

// The statements of a batch. Every lock is taken by one statement in the
// database's own id order, the order every writer uses (package doc).
const (
	batchNewMarketsSQL = `INSERT INTO markets (id, status)
		SELECT id, 'open' FROM unnest($1::text[]) AS u(id) ORDER BY id
		ON CONFLICT (id) DO NOTHING RETURNING id`
	batchMarketsSQL = `SELECT id, status FROM markets WHERE id = ANY($1) ORDER BY id FOR SHARE`
	batchPlayersSQL = `SELECT id, kind, balance FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`
	batchBetsSQL    = `SELECT id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4,
		policy, status, payout, placed_at, settled_at
		FROM bets WHERE id = ANY($1)`
	batchInsertBetsSQL = `INSERT INTO bets (id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4, policy, status)
		SELECT u.*, 'accepted' FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[]) AS u
		RETURNING id, placed_at`
	batchAddBalancesSQL = `UPDATE accounts SET balance = accounts.balance + u.delta
		FROM unnest($1::text[], $2::bigint[]) AS u(id, delta) WHERE accounts.id = u.id`
	// One stake transaction per bet, each with its two postings.
	batchStakesSQL = `WITH t AS (
			INSERT INTO transactions (kind, ref)
			SELECT 'stake', r FROM unnest($1::text[]) WITH ORDINALITY AS u(r, n) ORDER BY n
			RETURNING id, ref)
		INSERT INTO postings (tx_id, account_id, amount)
		SELECT t.id, p.a, p.n FROM t JOIN unnest($2::text[], $3::text[], $4::bigint[]) AS p(ref, a, n) ON p.ref = t.ref
		ORDER BY t.id, p.a`
	// FOR NO KEY UPDATE, as settlement locks them: the postings' foreign
	// keys hold FOR KEY SHARE on these rows, which it does not wait on.
	batchLockShardsSQL = `SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`
)

// bookBatch books calls in one database transaction and returns each
// call's answer, in order. A failure of the transaction itself (after the
// retries of inPipeline) is every call's answer: nothing of the batch is
// booked.
func (s *Store) bookBatch(ctx context.Context, calls []*betCall) []betAnswer {
	answers := make([]betAnswer, len(calls))
	if len(calls) == 1 {
		// Alone, a bet goes the shorter way of its own: fewer statements,
		// and no arrays to plan for.
		c := calls[0]
		b, created, err := s.placeAlone(ctx, c.bet, c.req)
		answers[0] = betAnswer{bet: b, created: created, err: err}
		return answers
	}
	var known []string
	err := s.inPipeline(ctx, func(conn *pgx.Conn) error {
		clear(answers)
		var err error
		known, err = s.bookBatchOnce(ctx, conn, calls, answers)
		return err
	})
	if err != nil {
		for i := range answers {
			answers[i] = betAnswer{err: err}
		}
		return answers
	}
	s.markets.add(known...)
	return answers
}

// bookBatchOnce is one attempt of bookBatch on conn. It returns the markets
// known to exist once it has returned without error: those it found, and
// those it created if it committed.
func (s *Store) bookBatchOnce(ctx context.Context, conn *pgx.Conn, calls []*betCall, answers []betAnswer) ([]string, error) {
	var (
		marketIDs, playerIDs, betIDs = distinct(calls)
		newMarkets                   = s.markets.unknown(marketIDs)
		inserted                     []string
		status                       = make(map[string]string, len(marketIDs))
		players                      = make(map[string]*batchPlayer, len(playerIDs))
		prior                        = make(map[string]*platform.Bet)
		reads, writes                pgx.Batch
	)
	// Round trip 1: the reads, each taking its locks in id order: markets
	// (FOR SHARE, so settlement's FOR UPDATE waits for this batch and sees
	// its bets), then players (FOR UPDATE). The bets are looked up under
	// the players' locks.
	reads.Queue("BEGIN")
	// A batch looks rows up by arrays of ids. A connection's cached plan
	// for that, made while the tables were small, would scan them whole
	// for ever after; planning each statement for its own arrays instead
	// cost PostgreSQL more CPU than the rows themselves. So each statement
	// gets one generic plan per connection, made where sequential scans are
	// off: every lookup goes through its primary key, at any table size.
	reads.Queue("SET LOCAL plan_cache_mode = force_generic_plan")
	reads.Queue("SET LOCAL enable_seqscan = off")
	if len(newMarkets) > 0 {
		reads.Queue(batchNewMarketsSQL, newMarkets).Query(func(rows pgx.Rows) error {
			var err error
			inserted, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	}
	reads.Queue(batchMarketsSQL, marketIDs).Query(func(rows pgx.Rows) error {
		var id, st string
		_, err := pgx.ForEachRow(rows, []any{&id, &st}, func() error {
			status[id] = st
			return nil
		})
		return err
	})
	reads.Queue(batchPlayersSQL, playerIDs).Query(func(rows pgx.Rows) error {
		var (
			id, kind string
			balance  int64
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &kind, &balance}, func() error {
			players[id] = &batchPlayer{kind: kind, balance: balance}
			return nil
		})
		return err
	})
	reads.Queue(batchBetsSQL, betIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			b, err := scanBet(rows, "")
			if err != nil {
				return err
			}
			prior[b.ID] = b
		}
		return rows.Err()
	})
	if err := conn.SendBatch(ctx, &reads).Close(); err != nil {
		return nil, err
	}

	// Each bet in arrival order, as if booked one after another: a bet sees
	// the bets before it in the batch (their debits, their ids).
	var (
		nb        newBets
		booked    = make(map[string]int, len(calls)) // bet id -> index of the call that booked it
		playerOut = map[string]int64{}
		shardIn   = map[string]int64{}
	)
	for i, c := range calls {
		bet := c.bet
		if p := prior[bet.ID]; p != nil {
			if !p.Repeats(c.req) {
				answers[i] = betAnswer{err: platform.ConflictingBet(p)}
				continue
			}
			answers[i] = betAnswer{bet: p}
			continue
		}
		if j, ok := booked[bet.ID]; ok {
			// A twin in this batch: answered once its placed_at is known.
			if !answers[j].bet.Repeats(c.req) {
				answers[i] = betAnswer{err: platform.ConflictingBet(answers[j].bet)}
			} else {
				answers[i] = betAnswer{bet: answers[j].bet}
			}
			continue
		}
		p := players[bet.Account]
		switch {
		case p == nil:
			answers[i] = betAnswer{err: platform.Errorf(platform.ENOTFOUND, "account %q not found", bet.Account)}
			continue
		case p.kind != string(platform.AccountPlayer):
			answers[i] = betAnswer{err: platform.Errorf(platform.EINVALID, "account %q is a system account", bet.Account)}
			continue
		case status[bet.Market] != string(platform.MarketOpen):
			answers[i] = betAnswer{err: platform.Errorf(platform.EMARKETSUSPENDED, "market %q is %s", bet.Market, status[bet.Market])}
			continue
		case p.balance < bet.Stake:
			answers[i] = betAnswer{err: platform.Errorf(platform.EFUNDS, "balance %d of account %q does not cover stake %d",
				p.balance, bet.Account, bet.Stake)}
			continue
		}
		p.balance -= bet.Stake
		b := bet
		b.Status = platform.BetAccepted
		b.Payout = 0
		b.SettledAt = nil
		answers[i] = betAnswer{bet: &b, created: true}
		booked[b.ID] = i
		nb.add(&b)
		playerOut[b.Account] -= b.Stake
		shardIn[platform.SuspenseShard(b.ID)] += b.Stake
	}
	var existing []string
	for id := range status {
		if !slices.Contains(inserted, id) {
			existing = append(existing, id)
		}
	}
	if len(booked) == 0 {
		return existing, nil // nothing to write: inPipeline rolls back the reads
	}

	// Round trip 2: the writes and COMMIT; the suspense shards, shared by
	// every batch, locked (in id order) and moved last, right before COMMIT.
	placedAt := make(map[string]time.Time, len(booked))
	writes.Queue(batchInsertBetsSQL, nb.ids, nb.accounts, nb.markets, nb.selections, nb.stakes,
		nb.requested, nb.odds, nb.policies).Query(func(rows pgx.Rows) error {
		var (
			id string
			at time.Time
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
			placedAt[id] = at
			return nil
		})
		return err
	})
	ids, deltas := sortedDeltas(playerOut)
	writes.Queue(batchAddBalancesSQL, ids, deltas)
	var refs, postRefs, postAccounts []string
	var postAmounts []int64
	for i, id := range nb.ids {
		refs = append(refs, id)
		postRefs = append(postRefs, id, id)
		postAccounts = append(postAccounts, nb.accounts[i], platform.SuspenseShard(id))
		postAmounts = append(postAmounts, -nb.stakes[i], nb.stakes[i])
	}
	writes.Queue(batchStakesSQL, refs, postRefs, postAccounts, postAmounts)
	shards, shardDeltas := sortedDeltas(shardIn)
	writes.Queue(batchLockShardsSQL, shards)
	writes.Queue(batchAddBalancesSQL, shards, shardDeltas)
	writes.Queue("COMMIT")
	if err := conn.SendBatch(ctx, &writes).Close(); err != nil {
		return nil, fmt.Errorf("book a batch of %d bets: %w", len(nb.ids), err)
	}
	for i := range answers {
		if b := answers[i].bet; b != nil && b.PlacedAt.IsZero() {
			at, ok := placedAt[b.ID]
			if !ok {
				return nil, fmt.Errorf("bet %s was booked without a placed_at", b.ID)
			}
			b.PlacedAt = at
		}
	}
	// A twin shares its original's *Bet; each caller gets a copy of its own.
	for i := range answers {
		if b := answers[i].bet; b != nil {
			c := *b
			answers[i].bet = &c
		}
	}
	return append(existing, inserted...), nil
}

// batchPlayer is a player row locked by a batch, its balance running down
// as the batch's bets are accepted.
type batchPlayer struct {
	kind    string
	balance int64
}

// newBets are the columns of a batch's new bets, for unnest.
type newBets struct {
	ids, accounts, markets, selections, policies []string
	stakes, requested, odds                      []int64
}

func (n *newBets) add(b *platform.Bet) {
	n.ids = append(n.ids, b.ID)
	n.accounts = append(n.accounts, b.Account)
	n.markets = append(n.markets, b.Market)
	n.selections = append(n.selections, b.Selection)
	n.stakes = append(n.stakes, b.Stake)
	n.requested = append(n.requested, b.RequestedOdds.E4())
	n.odds = append(n.odds, b.Odds.E4())
	n.policies = append(n.policies, string(b.Policy.OrDefault()))
}

// distinct returns the markets, accounts and bet ids of calls, each once.
func distinct(calls []*betCall) (markets, accounts, bets []string) {
	seen := make(map[string]bool, 3*len(calls))
	once := func(list *[]string, kind, id string) {
		if k := kind + "\x00" + id; !seen[k] {
			seen[k] = true
			*list = append(*list, id)
		}
	}
	for _, c := range calls {
		once(&markets, "m", c.bet.Market)
		once(&accounts, "a", c.bet.Account)
		once(&bets, "b", c.bet.ID)
	}
	return markets, accounts, bets
}

// sortedDeltas returns the accounts of deltas (sorted, for a stable
// statement) and their non-zero deltas.
func sortedDeltas(deltas map[string]int64) ([]string, []int64) {
	ids := make([]string, 0, len(deltas))
	for id, d := range deltas {
		if d != 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = deltas[id]
	}
	return ids, out
}

// knownMarkets remembers markets that exist in the database, so a batch
// whose markets are all known skips the insert that would create them.
// Markets are never deleted, so what it remembers stays true.
type knownMarkets struct {
	mu  sync.RWMutex
	ids map[string]struct{}
}

// maxKnownMarkets bounds the memory of knownMarkets; past it, it starts
// again (forgetting costs one insert per batch, not correctness).
const maxKnownMarkets = 100_000

func (k *knownMarkets) unknown(ids []string) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []string
	for _, id := range ids {
		if _, ok := k.ids[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

func (k *knownMarkets) add(ids ...string) {
	if len(ids) == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ids == nil || len(k.ids)+len(ids) > maxKnownMarkets {
		k.ids = make(map[string]struct{})
	}
	for _, id := range ids {
		k.ids[id] = struct{}{}
	}
}
