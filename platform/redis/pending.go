package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform"
)

// PendingStore keeps the bets waiting out their market's in-play delay, and
// those the delay refused, in Redis under the QuoteStore's prefix (P):
//
//	P pending:ID   hash: account, market, selection, stake, odds (the
//	               requested, canonical), policy, placed_at and decide_at
//	               (Unix µs), status (pending|rejected), and for a rejected
//	               bet its code and message
//
// A bet the delay accepts is in the ledger, and its key is deleted. Each key
// expires PendingTTL after it was last written, so a record nobody decides
// (its platform gone for good) does not outlive its use. It implements
// betting.PendingStore.
type PendingStore struct {
	client redis.UniversalClient
	prefix string
}

// PendingTTL is how long a pending or rejected bet's record lives.
const PendingTTL = time.Hour

// NewPendingStore returns a PendingStore on client under prefix, the
// QuoteStore's.
func NewPendingStore(client redis.UniversalClient, prefix string) *PendingStore {
	return &PendingStore{client: client, prefix: prefix}
}

// Key is the key of bet id's record.
func (s *PendingStore) Key(id string) string { return s.prefix + "pending:" + id }

// putPending: KEYS = pending:ID; ARGV = ttl ms, then field/value pairs. It
// answers the existing record's fields, or nothing when it wrote this one.
var putPending = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGETALL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {}
`)

// PutPending records bet as pending; when its id already has a record, it
// returns that one and created false.
func (s *PendingStore) PutPending(ctx context.Context, bet platform.Bet) (*platform.Bet, bool, error) {
	if err := platform.ValidateID("bet id", bet.ID); err != nil {
		return nil, false, err
	}
	args := []any{PendingTTL.Milliseconds(),
		"account", bet.Account, "market", bet.Market, "selection", bet.Selection,
		"stake", bet.Stake, "odds", bet.RequestedOdds.String(), "policy", string(bet.Policy.OrDefault()),
		"placed_at", bet.PlacedAt.UnixMicro(), "decide_at", bet.DecideAt.UnixMicro(), "status", string(platform.BetPending)}
	res, err := putPending.Run(ctx, s.client, []string{s.Key(bet.ID)}, args...).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("redis: record pending bet %s: %w", bet.ID, err)
	}
	if len(res) == 0 {
		b := bet
		b.Status = platform.BetPending
		return &b, true, nil
	}
	stored, err := pendingBet(bet.ID, pairs([]any{res}, 0))
	return stored, false, err
}

// Pending returns bet id's record: ENOTFOUND when there is none.
func (s *PendingStore) Pending(ctx context.Context, id string) (*platform.Bet, error) {
	if err := platform.ValidateID("bet id", id); err != nil {
		return nil, err
	}
	m, err := s.client.HGetAll(ctx, s.Key(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: read pending bet %s: %w", id, err)
	}
	if len(m) == 0 {
		return nil, platform.Errorf(platform.ENOTFOUND, "bet %q not found", id)
	}
	return pendingBet(id, m)
}

// ResolvePending records the end of bet id's delay: nil forgets the record
// (the ledger holds the bet now), an error marks it rejected with the
// error's code and message.
func (s *PendingStore) ResolvePending(ctx context.Context, id string, rejection error) error {
	key := s.Key(id)
	var err error
	if rejection == nil {
		err = s.client.Del(ctx, key).Err()
	} else {
		_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, "status", string(platform.BetRejected),
				"code", platform.ErrorCode(rejection), "message", platform.ErrorMessage(rejection))
			p.PExpire(ctx, key, PendingTTL)
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("redis: resolve pending bet %s: %w", id, err)
	}
	return nil
}

// ListPending returns every bet still pending: what a platform started
// again must decide.
func (s *PendingStore) ListPending(ctx context.Context) ([]*platform.Bet, error) {
	var out []*platform.Bet
	iter := s.client.Scan(ctx, 0, EscapeGlob(s.prefix)+"pending:*", 500).Iterator()
	for iter.Next(ctx) {
		id := strings.TrimPrefix(iter.Val(), s.prefix+"pending:")
		b, err := s.Pending(ctx, id)
		if platform.ErrorCode(err) == platform.ENOTFOUND {
			continue // decided since the scan
		}
		if err != nil {
			return nil, err
		}
		if b.Status == platform.BetPending {
			out = append(out, b)
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("redis: scan pending bets: %w", err)
	}
	return out, nil
}

// pendingBet reads a record's fields.
func pendingBet(id string, m map[string]string) (*platform.Bet, error) {
	bad := func(field string) error {
		return fmt.Errorf("redis: pending bet %s has %s %q", id, field, m[field])
	}
	b := &platform.Bet{ID: id, Account: m["account"], Market: m["market"], Selection: m["selection"],
		Policy: platform.PricePolicy(m["policy"]), Status: platform.BetStatus(m["status"])}
	var err error
	if b.Stake, err = strconv.ParseInt(m["stake"], 10, 64); err != nil {
		return nil, bad("stake")
	}
	if b.RequestedOdds, err = platform.ParseOdds(m["odds"]); err != nil {
		return nil, bad("odds")
	}
	for field, t := range map[string]*time.Time{"placed_at": &b.PlacedAt, "decide_at": &b.DecideAt} {
		us, err := strconv.ParseInt(m[field], 10, 64)
		if err != nil {
			return nil, bad(field)
		}
		*t = time.UnixMicro(us).UTC()
	}
	switch b.Status {
	case platform.BetPending:
	case platform.BetRejected:
		b.Rejection = platform.Errorf(m["code"], "%s", m["message"])
	default:
		return nil, bad("status")
	}
	return b, nil
}
