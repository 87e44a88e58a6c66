package reports

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewRedisHotState returns a HotStateSource that reads the reference
// platform's hot state in Redis under prefix, by the key layout of
// docs/hot-state.md, with plain commands (SCAN, HGETALL, EXISTS). It shares
// no code with the platform, and does not own client.
func NewRedisHotState(client redis.UniversalClient, prefix string) HotStateSource {
	return &redisHotState{client: client, prefix: prefix}
}

type redisHotState struct {
	client redis.UniversalClient
	prefix string
}

// scanBatch is how many keys one SCAN step asks for, and how many hashes
// one pipeline reads.
const scanBatch = 500

// HotState reads the epoch, then every market hash and the size of its
// quote hash. A market read after traffic stopped does not change, so the
// reads need not be one snapshot.
func (s *redisHotState) HotState(ctx context.Context) (*HotState, error) {
	n, err := s.client.Exists(ctx, s.prefix+"epoch").Result()
	if err != nil {
		return nil, fmt.Errorf("hot state: read epoch: %w", err)
	}
	hs := &HotState{Built: n == 1, Markets: map[string]HotMarket{}}
	var keys []string
	it := s.client.Scan(ctx, 0, escapeGlob(s.prefix)+"market:*", scanBatch).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("hot state: scan markets: %w", err)
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), scanBatch)]
		keys = keys[len(batch):]
		pipe := s.client.Pipeline()
		fields := make([]*redis.MapStringStringCmd, len(batch))
		quoted := make([]*redis.IntCmd, len(batch))
		for i, k := range batch {
			fields[i] = pipe.HGetAll(ctx, k)
			quoted[i] = pipe.HLen(ctx, s.prefix+"quote:"+strings.TrimPrefix(k, s.prefix+"market:"))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("hot state: read markets: %w", err)
		}
		for i, k := range batch {
			f := fields[i].Val()
			if len(f) == 0 {
				continue // gone since the scan
			}
			m := HotMarket{Status: f["status"], Key: k, Quoted: int(quoted[i].Val())}
			if v := f["seq"]; v != "" {
				if m.Seq, err = strconv.ParseInt(v, 10, 64); err != nil {
					return nil, fmt.Errorf("hot state: %s has seq %q, not a whole number", k, v)
				}
			}
			hs.Markets[strings.TrimPrefix(k, s.prefix+"market:")] = m
		}
	}
	if hs.Bets, err = s.bets(ctx); err != nil {
		return nil, err
	}
	return hs, nil
}

// bets reads every pending:ID hash: the bets pending their in-play delay
// or refused by it.
func (s *redisHotState) bets(ctx context.Context) (map[string]HotBet, error) {
	out := map[string]HotBet{}
	it := s.client.Scan(ctx, 0, escapeGlob(s.prefix)+"pending:*", scanBatch).Iterator()
	for it.Next(ctx) {
		k := it.Val()
		f, err := s.client.HMGet(ctx, k, "status", "code").Result()
		if err != nil {
			return nil, fmt.Errorf("hot state: read %s: %w", k, err)
		}
		status, _ := f[0].(string)
		if status == "" {
			continue // gone since the scan
		}
		code, _ := f[1].(string)
		out[strings.TrimPrefix(k, s.prefix+"pending:")] = HotBet{Status: status, Code: code, Key: k}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("hot state: scan pending bets: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// escapeGlob escapes what SCAN's MATCH reads as a pattern, so that a
// prefix matches only itself.
func escapeGlob(s string) string {
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
