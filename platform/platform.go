// Package platform is the domain of the reference in-play betting platform:
// its types (Market, Selection, Price, Bet, Account, Posting, Transfer), its
// exact Odds, its one Error type with a closed set of codes, and the service
// interfaces its adapters serve.
//
// The bounded contexts live in sub-packages (feed, pricing, betting, risk,
// ledger, settlement, cashier) and import no adapter. The adapters are named
// after what they wrap (postgres, redis, http); only the wiring
// (scenarios.StartRefPlatform, cmd/) puts them together.
//
// Money is always int64 minor units; odds are Odds. No float touches either.
package platform

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// MarketStatus is where a market is in its life.
type MarketStatus string

// The market statuses. The feed sends open, suspended and closed; settled is
// set by the platform once the market's result has been booked, and is final.
const (
	MarketOpen      MarketStatus = "open"
	MarketSuspended MarketStatus = "suspended"
	MarketClosed    MarketStatus = "closed"
	MarketSettled   MarketStatus = "settled"
)

// Valid reports whether s is one of the market statuses.
func (s MarketStatus) Valid() bool {
	switch s {
	case MarketOpen, MarketSuspended, MarketClosed, MarketSettled:
		return true
	}
	return false
}

// Market is a market as the ledger knows it: its status and, once resulted,
// its winners.
type Market struct {
	ID         string
	Status     MarketStatus
	Winners    []string // nil until resulted; empty means void
	Resulted   bool
	ResultedAt *time.Time
}

// Selection is one outcome of a market and the odds currently offered on it.
type Selection struct {
	ID   string
	Odds Odds
}

// Price is a market's current quote, as the feed last set it: its status and
// the odds of each selection, with the feed position it reflects.
type Price struct {
	Market     string
	Status     MarketStatus
	Selections []Selection // sorted by ID
	Seq        int64       // feed seq of the last update applied
	UpdatedAt  time.Time   // feed timestamp of that update; zero if unknown
	MarketDef              // what the feed said of the market's phase and delay
}

// MarketDef is what a feed's status message may say of a market beside its
// status (docs/feed-protocol.md): whether it is in play, and its in-play
// bet delay. nil is "the feed has not said": a feed that never sends them
// leaves the platform's configured delay in force.
type MarketDef struct {
	InPlay   *bool
	BetDelay *time.Duration
}

// IsZero reports whether d says nothing.
func (d MarketDef) IsZero() bool { return d.InPlay == nil && d.BetDelay == nil }

// FeedRef is where an update came from in the feed: the message's seq, its
// ts and the producer that sent it. A snapshot recovery carries the
// snapshot's seq and producer and no TS.
type FeedRef struct {
	Seq      int64
	TS       time.Time // zero when the message carried none
	Producer string
}

// Odds returns the odds offered on a selection, and whether it is quoted.
func (p *Price) Odds(selection string) (Odds, bool) {
	for _, s := range p.Selections {
		if s.ID == selection {
			return s.Odds, true
		}
	}
	return 0, false
}

// BetStatus is where a bet is in its life.
type BetStatus string

// The bet statuses, as the ledger stores them.
const (
	BetAccepted  BetStatus = "accepted"
	BetWon       BetStatus = "won"
	BetLost      BetStatus = "lost"
	BetVoid      BetStatus = "void"
	BetCashedOut BetStatus = "cashed_out"
)

// The statuses of a bet the ledger does not hold (yet): the API shows them
// while a bet waits out its market's in-play delay, and after the delay
// refused it.
const (
	BetPending  BetStatus = "pending"
	BetRejected BetStatus = "rejected"
)

// Bet is a booked bet.
type Bet struct {
	ID        string
	Account   string
	Market    string
	Selection string
	Stake     int64 // minor units
	// RequestedOdds are the lowest odds the bettor asked for. The ledger
	// stores them, because they are part of what a resend must repeat.
	RequestedOdds Odds
	Odds          Odds // accepted odds: the price when the bet was booked
	// Policy is the price policy the bet was accepted under; a resend
	// must repeat it.
	Policy    PricePolicy
	Status    BetStatus
	Payout    int64 // minor units credited to the player at settlement
	PlacedAt  time.Time
	SettledAt *time.Time

	// Of a bet the ledger does not hold: DecideAt is when a pending bet's
	// delay ends, and Rejection why a rejected one was refused.
	DecideAt  time.Time
	Rejection error
}

// Repeats reports whether req is a resend of the request that booked b:
// exactly the same account, market, selection, stake and requested odds
// and price policy (invariant 4: the same id with a different stake or
// odds is refused).
// Requested odds that differ are a different request even when the booked
// price would satisfy them. The accepted odds are not compared: the price
// can move between two sends of one request.
func (b *Bet) Repeats(req BetRequest) bool {
	return b.ID == req.ID && b.Account == req.Account && b.Market == req.Market &&
		b.Selection == req.Selection && b.Stake == req.Stake && b.RequestedOdds == req.Odds &&
		b.Policy.OrDefault() == req.Policy.OrDefault()
}

// ConflictingBet returns the ECONFLICT error for a request that reuses the
// id of booked bet b with other content. It names what b was booked with, so
// the caller can see which field differs.
func ConflictingBet(b *Bet) error {
	return Errorf(ECONFLICT,
		"bet %q is already booked with other content: account %q, market %q, selection %q, stake %d, requested odds %s, policy %s",
		b.ID, b.Account, b.Market, b.Selection, b.Stake, b.RequestedOdds, b.Policy.OrDefault())
}

// Limits on the values the platform accepts. They keep every sum of money
// far from int64 overflow: a payout is at most MaxStake × 1000.
const (
	MaxIDLen  = 128
	MaxStake  = 1_000_000_000_000     // 10^12 minor units
	MaxAmount = 1_000_000_000_000_000 // 10^15 minor units per deposit or withdrawal
)

// BetRequest is a bettor's request to place a bet.
type BetRequest struct {
	ID        string // client-chosen idempotency key
	Account   string
	Market    string
	Selection string
	Stake     int64 // minor units
	Odds      Odds  // the odds the bettor asked for
	// Policy says which prices the bettor takes when the price has moved
	// from Odds; "" is DefaultPolicy.
	Policy PricePolicy
}

// PricePolicy is what a bettor accepts when the price moved between the
// quote they saw and the decision on their bet (the "accept odds changes"
// setting of a betting app).
type PricePolicy string

// The price policies.
const (
	// PolicyExact: only at the requested odds; any move refuses the bet.
	PolicyExact PricePolicy = "exact"
	// PolicyBetter: at the current odds when they are at least the
	// requested ones (the bettor is paid the better price).
	PolicyBetter PricePolicy = "better"
	// PolicyAny: at the current odds, whatever they are.
	PolicyAny PricePolicy = "any"
	// DefaultPolicy is a request's policy when it names none: better,
	// what the platform did before bets carried a policy.
	DefaultPolicy = PolicyBetter
)

// OrDefault returns p, or DefaultPolicy when p is "".
func (p PricePolicy) OrDefault() PricePolicy {
	if p == "" {
		return DefaultPolicy
	}
	return p
}

// Valid reports whether p is a policy the platform knows ("" included).
func (p PricePolicy) Valid() bool {
	switch p {
	case "", PolicyExact, PolicyBetter, PolicyAny:
		return true
	}
	return false
}

// Validate returns an EINVALID error naming every problem with r, or nil.
func (r BetRequest) Validate() error {
	var v problems
	v.id("id", r.ID)
	v.id("account", r.Account)
	v.id("market", r.Market)
	v.id("selection", r.Selection)
	switch {
	case r.Stake <= 0:
		v.add("stake must be positive, not %d", r.Stake)
	case r.Stake > MaxStake:
		v.add("stake %d is above %d", r.Stake, int64(MaxStake))
	}
	if !r.Policy.Valid() {
		v.add("policy %q is not one of exact, better, any", string(r.Policy))
	}
	if r.Odds == 0 {
		v.add("odds are required")
	} else if !r.Odds.Valid() {
		v.add("odds %s are outside 1.01 to 1000", r.Odds)
	}
	return v.err()
}

// Account is a ledger account and its balance.
type Account struct {
	ID            string
	Kind          AccountKind
	AllowNegative bool
	Balance       int64 // minor units
}

// AccountKind is the role of a ledger account.
type AccountKind string

// The account kinds. House, suspense and cash are the system accounts,
// created by the schema with those ids.
const (
	AccountPlayer   AccountKind = "player"
	AccountHouse    AccountKind = "house"
	AccountSuspense AccountKind = "suspense"
	AccountCash     AccountKind = "cash"
)

// The ids of the system accounts.
const (
	HouseAccount    = "house"
	SuspenseAccount = "suspense"
	CashAccount     = "cash"
)

// SystemShards is how many accounts the suspense and the cash account are
// each split into. Every bet and every transfer moves one of these rows, so
// a single row would serialise all of them on its lock; a stable hash of the
// bet or transfer id spreads them over SystemShards rows instead.
const SystemShards = 16

// SuspenseShard returns the suspense account that holds the stake of bet
// betID: "suspense:" and two digits, chosen by FNV-1a 32 of the id modulo
// SystemShards, so the stake, its settlement and its void all use one row.
func SuspenseShard(betID string) string {
	return shardID(SuspenseAccount, betID)
}

// CashShard returns the cash account that deposit or withdrawal transferID
// moves money through, chosen like SuspenseShard.
func CashShard(transferID string) string {
	return shardID(CashAccount, transferID)
}

func shardID(base, key string) string {
	h := fnv.New32a()
	h.Write([]byte(key)) // a hash.Hash never returns an error
	return fmt.Sprintf("%s:%02d", base, h.Sum32()%SystemShards)
}

// isShardOf reports whether id is one of base's shard ids ("base:00" to
// "base:15"), exactly as shardID spells them.
func isShardOf(base, id string) bool {
	rest, ok := strings.CutPrefix(id, base+":")
	if !ok || len(rest) != 2 || rest[0] < '0' || rest[0] > '9' || rest[1] < '0' || rest[1] > '9' {
		return false
	}
	return int(rest[0]-'0')*10+int(rest[1]-'0') < SystemShards
}

// IsSystemAccount reports whether id names one of the system accounts,
// shards included, which no player request may use.
func IsSystemAccount(id string) bool {
	return id == HouseAccount || id == SuspenseAccount || id == CashAccount ||
		isShardOf(SuspenseAccount, id) || isShardOf(CashAccount, id)
}

// Posting moves Amount minor units into (positive) or out of (negative) an
// account, as one leg of transaction TxID. A transaction's postings sum to zero.
type Posting struct {
	ID      int64
	TxID    int64
	Account string
	Amount  int64
}

// TransferKind tells deposits from withdrawals.
type TransferKind string

// The transfer kinds; they are also the ledger's transaction kinds.
const (
	Deposit  TransferKind = "deposit"
	Withdraw TransferKind = "withdraw"
)

// TransferRequest asks to move money between the outside world and a player.
type TransferRequest struct {
	ID      string // client-chosen idempotency key
	Account string
	Amount  int64 // minor units, positive
}

// Validate returns an EINVALID error naming every problem with r, or nil.
func (r TransferRequest) Validate() error {
	var v problems
	v.id("id", r.ID)
	v.id("account", r.Account)
	v.amount(r.Amount)
	return v.err()
}

// Transfer is a booked deposit or withdrawal. Balance is the player's balance
// right after it was booked, so replaying the request returns the same Transfer.
type Transfer struct {
	Kind    TransferKind
	ID      string
	Account string
	Amount  int64
	Balance int64
}

// BetService places and reads bets.
type BetService interface {
	// PlaceBet books a bet at the current price if that is at least the
	// requested odds. created is false when the id was already booked with
	// the same content, in which case the booked bet is returned unchanged.
	// Returns EINVALID, ENOTFOUND (account, market or selection), ECONFLICT
	// (id reused with other content), ELIMIT, EMARKETSUSPENDED,
	// EPRICECHANGED, EFUNDS or EINTERNAL.
	PlaceBet(ctx context.Context, req BetRequest) (bet *Bet, created bool, err error)

	// FindBet returns a booked bet. Returns EINVALID, ENOTFOUND or EINTERNAL.
	FindBet(ctx context.Context, id string) (*Bet, error)
}

// AccountService moves money in and out of player accounts and reads them.
type AccountService interface {
	// Deposit credits a player, creating the account on first use. created
	// is false when the id was already booked with the same account and
	// amount; the original Transfer is returned. Returns EINVALID,
	// ECONFLICT or EINTERNAL.
	Deposit(ctx context.Context, req TransferRequest) (t *Transfer, created bool, err error)

	// Withdraw debits a player; idempotent like Deposit. Returns EINVALID,
	// ECONFLICT, EFUNDS (including an account with no money yet) or EINTERNAL.
	Withdraw(ctx context.Context, req TransferRequest) (t *Transfer, created bool, err error)

	// FindAccount returns a player account. Returns EINVALID, ENOTFOUND or
	// EINTERNAL.
	FindAccount(ctx context.Context, id string) (*Account, error)
}
