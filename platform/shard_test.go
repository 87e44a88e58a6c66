package platform_test

import (
	"fmt"
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

func TestShards(t *testing.T) {
	tests := []struct {
		name, key, suspense, cash string
	}{
		// FNV-1a 32 of "" is its offset basis 0x811c9dc5: 5 modulo 16.
		{"empty key", "", "suspense:05", "cash:05"},
		// FNV-1a 32 of "a" is 0xe40c292c: 12 modulo 16. A fixed vector, so
		// a change of hash (which would move open stakes) cannot go unseen.
		{"one byte", "a", "suspense:12", "cash:12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := platform.SuspenseShard(tt.key); got != tt.suspense {
				t.Errorf("SuspenseShard(%q) = %q, want %q", tt.key, got, tt.suspense)
			}
			if got := platform.CashShard(tt.key); got != tt.cash {
				t.Errorf("CashShard(%q) = %q, want %q", tt.key, got, tt.cash)
			}
		})
	}
	// Many ids use every shard, and every shard is a system account.
	seen := map[string]bool{}
	for i := range 1000 {
		id := platform.SuspenseShard(fmt.Sprintf("bet-%d", i))
		if !platform.IsSystemAccount(id) {
			t.Fatalf("shard %q is not a system account", id)
		}
		seen[id] = true
	}
	if len(seen) != platform.SystemShards {
		t.Fatalf("1000 bet ids used %d shards, want %d", len(seen), platform.SystemShards)
	}
}

func TestIsSystemAccount(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"house", true},        // the single house account
		{"suspense", true},     // the old, unsharded row: still reserved
		{"cash", true},         // likewise
		{"suspense:00", true},  // first shard
		{"cash:15", true},      // last shard
		{"cash:16", false},     // beyond the shards: an ordinary id
		{"suspense:7", false},  // not spelled as a shard
		{"suspense:0a", false}, // not digits
		{"cashew", false},      // a player merely starting with a system name
		{"player-1", false},    // an ordinary player
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := platform.IsSystemAccount(tt.id); got != tt.want {
				t.Fatalf("IsSystemAccount(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}
