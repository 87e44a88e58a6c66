package reports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/internal/servicetest"
)

// mustRedisPrefix returns a client on the test Redis and a key prefix of
// this test alone, whose keys are deleted when the test ends.
func mustRedisPrefix(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	client := redis.NewClient(servicetest.RedisOptions(tb))
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	prefix := "reports_test:" + hex.EncodeToString(suffix[:]) + ":"
	tb.Cleanup(func() {
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		it := client.Scan(ctx, 0, escapeGlob(prefix)+"*", 500).Iterator()
		for it.Next(ctx) {
			client.Del(ctx, it.Val())
		}
		if err := it.Err(); err != nil {
			tb.Errorf("delete keys %s*: %v", prefix, err)
		}
	})
	return client, prefix
}

// TestRedisHotState writes the documented layout (docs/hot-state.md) by
// hand, as the reference platform leaves it, and reads it back; a key
// under another prefix, even one that is a glob, is not read.
func TestRedisHotState(t *testing.T) {
	client, prefix := mustRedisPrefix(t)
	_, other := mustRedisPrefix(t)
	ctx := context.Background()
	src := NewRedisHotState(client, prefix)

	hs, err := src.HotState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hs.Built || len(hs.Markets) != 0 {
		t.Fatalf("empty prefix read as %+v", hs)
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(client.Set(ctx, prefix+"epoch", time.Now().UnixNano(), 0).Err())
	must(client.HSet(ctx, prefix+"market:m1", "status", "settled", "seq", "41", "ts", "2026-12-03T10:00:00Z").Err())
	must(client.HSet(ctx, prefix+"quote:m1", "home", "2.1", "away", "3.4").Err())
	must(client.HSet(ctx, prefix+"market:m2", "status", "suspended").Err()) // restored from the ledger: no seq
	must(client.HSet(ctx, other+"market:m3", "status", "open").Err())
	must(client.HSet(ctx, prefix+"pending:b-1", "status", "pending", "account", "a1").Err())
	must(client.HSet(ctx, prefix+"pending:b-2", "status", "rejected", "code", "EPRICECHANGED").Err())
	must(client.HSet(ctx, prefix[:len(prefix)-1]+"*market:m4", "status", "open").Err())
	t.Cleanup(func() { client.Del(context.Background(), prefix[:len(prefix)-1]+"*market:m4") })

	hs, err = src.HotState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &HotState{Built: true, Markets: map[string]HotMarket{
		"m1": {Status: "settled", Seq: 41, Key: prefix + "market:m1", Quoted: 2},
		"m2": {Status: "suspended", Key: prefix + "market:m2"},
	}, Bets: map[string]HotBet{
		"b-1": {Status: "pending", Key: prefix + "pending:b-1"},
		"b-2": {Status: "rejected", Code: "EPRICECHANGED", Key: prefix + "pending:b-2"},
	}}
	if !reflect.DeepEqual(hs, want) {
		t.Fatalf("read %+v\nwant %+v", hs, want)
	}

	must(client.HSet(ctx, prefix+"market:m5", "status", "open", "seq", "x").Err())
	if _, err := src.HotState(ctx); err == nil {
		t.Fatal("a seq that is not a number was read without an error")
	}
}

// TestRedisHotStateUnreachable: a Redis that does not answer is an error,
// never an empty hot state.
func TestRedisHotStateUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	if hs, err := NewRedisHotState(client, "p:").HotState(context.Background()); err == nil {
		t.Fatalf("read %+v from nothing", hs)
	}
}

// Bets kept outside the ledger: none may still be pending once traffic
// stopped, and none refused by its delay may be booked.
func TestHotStateBets(t *testing.T) {
	_, l := fixture()
	hs := &HotState{Built: true, Markets: map[string]HotMarket{}}
	for _, m := range l.Markets {
		hs.Markets[m.ID] = HotMarket{Status: m.Status, Key: "P market:" + m.ID}
	}
	if inv := CheckHotState(l, hs); !inv.Pass {
		t.Fatalf("the fixture's hot state fails: %+v", inv)
	}
	for _, tt := range []struct {
		bet  HotBet
		id   string
		pass bool
		why  string
	}{
		{HotBet{Status: "rejected", Code: "EPRICECHANGED"}, "b5", true, ""},
		{HotBet{Status: "pending"}, "b8", false, "still pending its in-play delay"},
		{HotBet{Status: "rejected", Code: "EPRICECHANGED"}, "b1", false, "rejected (EPRICECHANGED) in the hot state"},
	} {
		tt.bet.Key = "P pending:" + tt.id
		hs.Bets = map[string]HotBet{tt.id: tt.bet}
		inv := CheckHotState(l, hs)
		if inv.Pass != tt.pass || (!tt.pass && (len(inv.Witnesses) != 1 || inv.Witnesses[0].IDs[0] != tt.id || !strings.Contains(inv.Witnesses[0].Why, tt.why))) {
			t.Errorf("%s %+v: %+v", tt.id, tt.bet, inv)
		}
	}
}
