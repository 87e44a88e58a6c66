// Package redis is the reference platform's quote store on Redis
// (go-redis/v9): the hot state every bet reads.
//
// Every key starts with the caller's prefix, and nothing outside it is
// touched. For market M under prefix P:
//
//	P quote:M    hash: selection id → decimal odds, canonical ("2.1")
//	P market:M   hash: status (open|suspended|closed|settled),
//	             seq (feed seq of the last update), ts (its feed time, RFC 3339)
//	P epoch      string: when the hot state was last built whole (Unix ns)
//
// The epoch is the sentinel of the whole: it is written once the hot state
// is complete (at the platform's start, and after a rebuild), and it goes
// with everything else when the keys are lost (a flush, a Redis restart
// without persistence). With the guard on (OnLost), while it is missing
// Price answers EUNAVAILABLE, so no bet is taken on a market whose state
// may be missing or half back, and OnLost's function is told, so the
// platform rebuilds: statuses from the ledger (RestoreStatus; settled stays
// settled), prices from the feed (pricing.Rebuilder).
//
// Selections and the market's own fields live in separate hashes so that no
// selection id can collide with a field name. Updates run as Lua scripts that
// compare seqs, so they are atomic and a late or redelivered update never
// rolls a quote back; settled is final but for a rollback of the
// settlement (Unsettle), which must come with a newer seq.
package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// QuoteStore keeps current quotes in Redis. It implements pricing.Store and
// pricing.HotState.
type QuoteStore struct {
	client redis.UniversalClient
	prefix string
	onLost func() // told when a read finds the epoch missing; nil = no one
}

var (
	_ pricing.Store    = (*QuoteStore)(nil)
	_ pricing.HotState = (*QuoteStore)(nil)
)

// NewQuoteStore returns a QuoteStore on client whose keys all start with
// prefix. The QuoteStore does not own the client.
func NewQuoteStore(client redis.UniversalClient, prefix string) *QuoteStore {
	return &QuoteStore{client: client, prefix: prefix}
}

// QuoteKey is the key of a market's odds hash.
func (s *QuoteStore) QuoteKey(market string) string { return s.prefix + "quote:" + market }

// MarketKey is the key of a market's status hash.
func (s *QuoteStore) MarketKey(market string) string { return s.prefix + "market:" + market }

// EpochKey is the key of the hot state's sentinel (see the package doc).
func (s *QuoteStore) EpochKey() string { return s.prefix + "epoch" }

// OnLost turns the epoch guard on: from then on Price refuses every read
// (EUNAVAILABLE) while the epoch is missing, and calls f, without waiting,
// as the platform's cue to rebuild. A store without it (one no rebuilder
// stands behind) reads quotes whatever the epoch. Call it before the store
// is used; f must not block.
func (s *QuoteStore) OnLost(f func()) { s.onLost = f }

// Built implements pricing.HotState: whether the epoch is there.
func (s *QuoteStore) Built(ctx context.Context) (bool, error) {
	n, err := s.client.Exists(ctx, s.EpochKey()).Result()
	if err != nil {
		return false, fmt.Errorf("redis: read epoch: %w", err)
	}
	return n == 1, nil
}

// MarkBuilt implements pricing.HotState: it writes the epoch.
func (s *QuoteStore) MarkBuilt(ctx context.Context) error {
	if err := s.client.Set(ctx, s.EpochKey(), time.Now().UnixNano(), 0).Err(); err != nil {
		return fmt.Errorf("redis: write epoch: %w", err)
	}
	return nil
}

// restoreStatus: KEYS = market; ARGV = status. The seq is left as it is (or
// absent), so the feed's next update, or its snapshot, applies over it.
var restoreStatus = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'status') == 'settled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 1
`)

// RestoreStatus implements pricing.HotState.
func (s *QuoteStore) RestoreStatus(ctx context.Context, market string, status platform.MarketStatus) error {
	if err := platform.ValidateID("market", market); err != nil {
		return err
	}
	if !status.Valid() {
		return platform.Errorf(platform.EINVALID, "market status %q is unknown", status)
	}
	if err := restoreStatus.Run(ctx, s.client, []string{s.MarketKey(market)}, string(status)).Err(); err != nil {
		return fmt.Errorf("redis: restore status of %s: %w", market, err)
	}
	return nil
}

// Ping checks that Redis answers.
func (s *QuoteStore) Ping(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}

// setOdds: KEYS = quote, market; ARGV = seq, ts, then selection/odds pairs.
var setOdds = redis.NewScript(`
local cur = redis.call('HGET', KEYS[2], 'seq')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'ts', ARGV[2])
redis.call('HSETNX', KEYS[2], 'status', 'open')
return 1
`)

// readPrice: KEYS = quote, market, epoch; returns both hashes as flat
// field/value lists, and whether the epoch is there.
var readPrice = redis.NewScript(`
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('EXISTS', KEYS[3])}
`)

// pairs turns element i of a readPrice answer into a map; nil when it is
// not a flat list of strings.
func pairs(res []any, i int) map[string]string {
	if i >= len(res) {
		return nil
	}
	list, ok := res[i].([]any)
	if !ok || len(list)%2 != 0 {
		return nil
	}
	m := make(map[string]string, len(list)/2)
	for j := 0; j < len(list); j += 2 {
		k, ok1 := list[j].(string)
		v, ok2 := list[j+1].(string)
		if !ok1 || !ok2 {
			return nil
		}
		m[k] = v
	}
	return m
}

// setStatus: KEYS = market; ARGV = seq, ts, status.
// setStatus: KEYS = market; ARGV = seq, ts, status, in_play ("" = the
// feed did not say, "1" or "0"), bet_delay_ms ("" = did not say).
var setStatus = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[1], 'status') == 'settled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'seq', ARGV[1], 'ts', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'in_play', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'bet_delay_ms', ARGV[5]) end
return 1
`)

// unsettle: KEYS = market; ARGV = seq, ts. Only a settled market moves,
// to closed as the ledger's rollback leaves it, and only on a seq newer
// than the last applied (strictly: the settlement's own seq, redelivered,
// must not undo it).
var unsettle = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'settled' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'closed', 'seq', ARGV[1], 'ts', ARGV[2])
return 1
`)

func formatTime(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return at.UTC().Format(time.RFC3339Nano)
}

func checkMarket(market string, seq int64) error {
	if err := platform.ValidateID("market", market); err != nil {
		return err
	}
	if seq < 0 {
		return platform.Errorf(platform.EINVALID, "feed seq %d is negative", seq)
	}
	return nil
}

// SetOdds implements pricing.Writer.
func (s *QuoteStore) SetOdds(ctx context.Context, market string, odds []platform.Selection, seq int64, at time.Time) (bool, error) {
	if err := checkMarket(market, seq); err != nil {
		return false, err
	}
	if len(odds) == 0 {
		return false, platform.Errorf(platform.EINVALID, "odds update of market %q quotes no selection", market)
	}
	args := make([]any, 0, 2+2*len(odds))
	args = append(args, seq, formatTime(at))
	for _, sel := range odds {
		if err := platform.ValidateID("selection", sel.ID); err != nil {
			return false, err
		}
		if !sel.Odds.Valid() {
			return false, platform.Errorf(platform.EINVALID, "odds %s of %q are outside 1.01 to 1000", sel.Odds, sel.ID)
		}
		args = append(args, sel.ID, sel.Odds.String())
	}
	n, err := setOdds.Run(ctx, s.client, []string{s.QuoteKey(market), s.MarketKey(market)}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("redis: set odds of %s: %w", market, err)
	}
	return n == 1, nil
}

// SetStatus sets a market's status, leaving what the feed said of its
// phase and delay as it was (SetStatusDef with a zero MarketDef).
func (s *QuoteStore) SetStatus(ctx context.Context, market string, status platform.MarketStatus, seq int64, at time.Time) (bool, error) {
	return s.SetStatusDef(ctx, market, status, platform.MarketDef{}, seq, at)
}

// SetStatusDef implements pricing.Writer: the status and, where def says
// them, the market's in-play flag and bet delay, in one atomic step, so a
// bet never sees a market open in play without its delay.
func (s *QuoteStore) SetStatusDef(ctx context.Context, market string, status platform.MarketStatus, def platform.MarketDef, seq int64, at time.Time) (bool, error) {
	if err := checkMarket(market, seq); err != nil {
		return false, err
	}
	if !status.Valid() {
		return false, platform.Errorf(platform.EINVALID, "market status %q is unknown", status)
	}
	inPlay, delay := "", ""
	if def.InPlay != nil {
		inPlay = "0"
		if *def.InPlay {
			inPlay = "1"
		}
	}
	if def.BetDelay != nil {
		if *def.BetDelay < 0 {
			return false, platform.Errorf(platform.EINVALID, "bet delay %s of market %q is negative", *def.BetDelay, market)
		}
		delay = strconv.FormatInt(def.BetDelay.Milliseconds(), 10)
	}
	n, err := setStatus.Run(ctx, s.client, []string{s.MarketKey(market)}, seq, formatTime(at), string(status), inPlay, delay).Int()
	if err != nil {
		return false, fmt.Errorf("redis: set status of %s: %w", market, err)
	}
	return n == 1, nil
}

// Unsettle implements pricing.Writer: a settled market goes back to
// closed when the feed rolls its settlement back with a newer seq. It is
// the one way out of settled; any other status, or an older or equal seq,
// is left as it is.
func (s *QuoteStore) Unsettle(ctx context.Context, market string, seq int64, at time.Time) (bool, error) {
	if err := checkMarket(market, seq); err != nil {
		return false, err
	}
	n, err := unsettle.Run(ctx, s.client, []string{s.MarketKey(market)}, seq, formatTime(at)).Int()
	if err != nil {
		return false, fmt.Errorf("redis: unsettle %s: %w", market, err)
	}
	return n == 1, nil
}

// Price implements pricing.Reader. Both hashes are read in one MULTI, so
// the odds and the status are from the same moment.
// Prices returns the price of every market in the hot state, read by
// scanning the prefix's market keys: what a platform started again seeds
// its quote hub from.
func (s *QuoteStore) Prices(ctx context.Context) ([]*platform.Price, error) {
	pattern := EscapeGlob(s.prefix) + "market:*"
	var out []*platform.Price
	iter := s.client.Scan(ctx, 0, pattern, 500).Iterator()
	for iter.Next(ctx) {
		market := strings.TrimPrefix(iter.Val(), s.prefix+"market:")
		p, err := s.Price(ctx, market)
		if platform.ErrorCode(err) == platform.ENOTFOUND {
			continue // gone since the scan
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("redis: scan markets: %w", err)
	}
	return out, nil
}

// EscapeGlob escapes the characters SCAN's MATCH treats as a pattern, so
// that a prefix matches only itself.
func EscapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *QuoteStore) Price(ctx context.Context, market string) (*platform.Price, error) {
	if err := platform.ValidateID("market", market); err != nil {
		return nil, err
	}
	// One script, not MULTI/HGETALL/HGETALL/EXEC: the same atomic read in
	// one command, which every bet makes.
	res, err := readPrice.Run(ctx, s.client, []string{s.QuoteKey(market), s.MarketKey(market), s.EpochKey()}).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: read quote of %s: %w", market, err)
	}
	if s.onLost != nil && (len(res) < 3 || res[2] != int64(1)) {
		// The hot state was lost, or is being rebuilt: what is there may be
		// a guess (odds without their status, a market not back yet).
		s.onLost()
		return nil, platform.Errorf(platform.EUNAVAILABLE, "the quotes are being rebuilt; try again shortly")
	}
	odds, fields := pairs(res, 0), pairs(res, 1)
	if odds == nil || fields == nil {
		return nil, fmt.Errorf("redis: read quote of %s: unexpected answer %v", market, res)
	}
	if len(odds) == 0 && len(fields) == 0 {
		return nil, platform.Errorf(platform.ENOTFOUND, "market %q not found", market)
	}
	p := &platform.Price{Market: market, Status: platform.MarketStatus(fields["status"])}
	if !p.Status.Valid() {
		return nil, fmt.Errorf("redis: market %s has status %q", market, fields["status"])
	}
	if v := fields["seq"]; v != "" {
		seq, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redis: market %s has seq %q", market, v)
		}
		p.Seq = seq
	}
	if v := fields["ts"]; v != "" {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Errorf("redis: market %s has ts %q", market, v)
		}
		p.UpdatedAt = at
	}
	switch v := fields["in_play"]; v {
	case "":
	case "0", "1":
		inPlay := v == "1"
		p.InPlay = &inPlay
	default:
		return nil, fmt.Errorf("redis: market %s has in_play %q", market, v)
	}
	if v := fields["bet_delay_ms"]; v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("redis: market %s has bet_delay_ms %q", market, v)
		}
		d := time.Duration(ms) * time.Millisecond
		p.BetDelay = &d
	}
	p.Selections = make([]platform.Selection, 0, len(odds))
	for id, v := range odds {
		o, err := platform.ParseOdds(v)
		if err != nil {
			return nil, fmt.Errorf("redis: odds of %s/%s: %w", market, id, err)
		}
		p.Selections = append(p.Selections, platform.Selection{ID: id, Odds: o})
	}
	slices.SortFunc(p.Selections, func(a, b platform.Selection) int { return strings.Compare(a.ID, b.ID) })
	return p, nil
}
