package postgres_test

import (
	"context"
	"testing"

	"github.com/inplaylabs/inplay/platform/postgres"
)

// TestEventStoreSwitch: switched off, writes leave no event and the switch
// is on the record; switched on again, every tracked table is snapshotted
// and writes are recorded again.
func TestEventStoreSwitch(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	events := func() int64 { return count(t, pool, `SELECT count(*) FROM events`) }
	if on, err := postgres.EventStoreEnabled(ctx, pool); err != nil || !on {
		t.Fatalf("a new ledger's store: on=%v err=%v", on, err)
	}
	mustDeposit(t, s, "a1", 1000)
	before := events()
	if before == 0 {
		t.Fatal("a deposit with the store on left no event")
	}
	if err := postgres.SetEventStore(ctx, pool, false, "test"); err != nil {
		t.Fatal(err)
	}
	if on, _ := postgres.EventStoreEnabled(ctx, pool); on {
		t.Fatal("still on after switching off")
	}
	mustDeposit(t, s, "a1", 500)
	if _, _, err := s.PlaceBet(ctx, bet("b1", "a1", "m1", "home", 100, mustOdds(t, "2"))); err != nil {
		t.Fatal(err)
	}
	if n := events(); n != before {
		t.Fatalf("%d events written with the store off", n-before)
	}
	if err := postgres.SetEventStore(ctx, pool, false, "again"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM event_store_switch`); n != 1 {
		t.Fatalf("switching off twice recorded %d switches", n)
	}
	if err := postgres.SetEventStore(ctx, pool, true, "test"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM events WHERE op = 'SNAPSHOT' AND tbl = 'bets' AND position > $1`, before); n != 1 {
		t.Fatalf("switching on snapshotted %d bets, want the 1 written while off", n)
	}
	after := events()
	mustDeposit(t, s, "a2", 100)
	if events() == after {
		t.Fatal("a deposit after switching on left no event")
	}
}
