package scenarios

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/reports"
)

// tamperScenario is a short run with settled markets (won and lost bets),
// open bets and an in-play delay, and no fault: the kept stores must
// reconcile clean before each corruption.
const tamperScenario = `
name: tamper
seed: 5
load:
  generate: {profile: football, matches: 2, bettors: 40, duration: 90s}
  speed: 9
  max_schedule_lag: 1s
platform: {in_play_delay: 100ms, event_store: true}
reconcile: strict
drain: 20s
`

// TestTamper keeps one real run, then corrupts a fresh copy of its stores
// in each way an operator's bug or a superuser could, and re-checks it with
// inplay reconcile (the binary, as a user would): each corruption must be
// caught by the right invariant, with a witness naming the corrupted row,
// and exit 2. The untouched copy exits 0.
func TestTamper(t *testing.T) {
	so := resolveStack(t)
	sc, err := Parse("tamper.yaml", []byte(tamperScenario))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{OutDir: out, Stack: so, Keep: true, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Run.Teardown(context.Background()) })
	for _, inv := range res.Report.Invariants {
		if inv.Failed() {
			t.Fatalf("the run itself failed %s: %+v", inv.Name, inv.Witnesses)
		}
	}
	for _, name := range []string{reports.InvHotStateMatches, reports.InvPostingsAppendOnly, reports.InvEventStoreFolds} {
		if inv := reportInvariant(res.Report.Invariants, name); inv.Status != reports.StatusPass || inv.Checked == 0 {
			t.Fatalf("the run did not check %s: %+v", name, inv)
		}
	}

	admin, err := pgx.Connect(ctx, so.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	ropts, err := goredis.ParseURL(res.Run.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(ropts)
	defer rdb.Close()

	// fresh copies the kept database (CREATE DATABASE ... TEMPLATE) and
	// its Redis keys (DUMP/RESTORE) under names of this copy alone, dropped
	// and deleted when the test ends.
	fresh := func(t *testing.T) (conn *pgx.Conn, dbURL, prefix string) {
		t.Helper()
		var suffix [5]byte
		_, _ = rand.Read(suffix[:])
		name := "tamper_" + hex.EncodeToString(suffix[:])
		if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+res.Run.DatabaseName); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
		u, err := url.Parse(res.Run.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		dbURL = u.String()
		if conn, err = pgx.Connect(ctx, dbURL); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })

		prefix = name + ":"
		var copied []string
		t.Cleanup(func() {
			if len(copied) > 0 {
				rdb.Del(context.Background(), copied...)
			}
		})
		it := rdb.Scan(ctx, 0, redis.EscapeGlob(res.Run.KeyPrefix)+"*", 500).Iterator()
		for it.Next(ctx) {
			key := it.Val()
			dump, err := rdb.Dump(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			dst := prefix + key[len(res.Run.KeyPrefix):]
			if err := rdb.Restore(ctx, dst, 0, dump).Err(); err != nil {
				t.Fatal(err)
			}
			copied = append(copied, dst)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return conn, dbURL, prefix
	}
	// recheck runs inplay reconcile on a copy and returns its exit code
	// and invariants.
	recheck := func(t *testing.T, dbURL, prefix string) (int, map[string]reports.Invariant) {
		t.Helper()
		cmd := exec.CommandContext(ctx, platformBinary, "reconcile", "--json", "--journal", out,
			"--postgres-url", dbURL, "--redis-url", res.Run.RedisURL, "--redis-prefix", prefix)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var got RecheckResult
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("inplay reconcile (exit %d) printed no result: %v\n%s%s", code, err, stdout.String(), stderr.String())
		}
		byName := map[string]reports.Invariant{}
		for _, inv := range got.Invariants {
			byName[inv.Name] = inv
		}
		return code, byName
	}
	// exec runs statements on a copy, with the ledger's append-only
	// triggers off, as a superuser could.
	exec_ := func(t *testing.T, conn *pgx.Conn, sqls ...string) {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		for _, q := range sqls {
			if _, err := tx.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// alter runs each statement in a transaction of its own, with every
	// trigger on unless the statements turn one off.
	alter := func(t *testing.T, conn *pgx.Conn, sqls ...string) {
		t.Helper()
		for _, q := range sqls {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	pick := func(t *testing.T, conn *pgx.Conn, q string, dst ...any) {
		t.Helper()
		if err := conn.QueryRow(ctx, q).Scan(dst...); err != nil {
			t.Fatalf("%s: %v (the run had no such row; a larger scenario is needed)", q, err)
		}
	}

	t.Run("the untouched copy reconciles", func(t *testing.T) {
		_, dbURL, prefix := fresh(t)
		code, got := recheck(t, dbURL, prefix)
		if code != 0 {
			t.Fatalf("exit %d, want 0: %+v", code, got)
		}
		for _, name := range []string{reports.InvPostingsAppendOnly, reports.InvEventStoreFolds} {
			if inv := got[name]; inv.Status != reports.StatusPass || inv.Checked == 0 {
				t.Errorf("%s %+v, want checked and passing", name, inv)
			}
		}
		if inv := got[reports.InvHotStateMatches]; inv.Status != reports.StatusPass || inv.Checked == 0 {
			t.Errorf("hot state %+v, want checked and passing", inv)
		}
	})

	// inplay runs the binary, as a user would, and returns its exit code
	// and stdout.
	inplay := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, platformBinary, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			return ee.ExitCode(), stdout.String() + stderr.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, stdout.String()
	}

	t.Run("platform verify, rebuild and audit-export", func(t *testing.T) {
		conn, dbURL, _ := fresh(t)
		if code, out := inplay(t, "platform", "verify", "--postgres-url", dbURL); code != 0 || !strings.Contains(out, "chain verified") {
			t.Errorf("verify: exit %d: %s", code, out)
		}
		if code, out := inplay(t, "platform", "rebuild", "--postgres-url", dbURL); code != 0 || !strings.Contains(out, "folds back to the ledger") {
			t.Errorf("rebuild: exit %d: %s", code, out)
		}

		// A window from the 10th event to the end: its header anchors it to
		// the 9th, and its lines chain from there, every position present.
		var from time.Time
		var last int64
		pick(t, conn, `SELECT at FROM events WHERE position = 10`, &from)
		pick(t, conn, `SELECT max(position) FROM events`, &last)
		file := filepath.Join(t.TempDir(), "audit.jsonl")
		code, out := inplay(t, "platform", "audit-export", "--postgres-url", dbURL,
			"--from", from.Format(time.RFC3339Nano), "--to", time.Now().Add(time.Hour).Format(time.RFC3339Nano), "-o", file)
		if code != 0 {
			t.Fatalf("audit-export: exit %d: %s", code, out)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		var head struct {
			FirstPosition, LastPosition int64
			PrevHash, LastHash          string
		}
		if err := json.Unmarshal([]byte(lines[0]), &struct {
			F *int64  `json:"first_position"`
			L *int64  `json:"last_position"`
			P *string `json:"prev_hash"`
			H *string `json:"last_hash"`
		}{&head.FirstPosition, &head.LastPosition, &head.PrevHash, &head.LastHash}); err != nil {
			t.Fatal(err)
		}
		var ninth []byte
		pick(t, conn, `SELECT hash FROM events WHERE position = 9`, &ninth)
		if head.FirstPosition != 10 || head.LastPosition != last || head.PrevHash != hex.EncodeToString(ninth) {
			t.Fatalf("header %+v, want positions 10 to %d after %x", head, last, ninth)
		}
		prev, pos, kinds := head.PrevHash, head.FirstPosition, map[string]int{}
		for _, l := range lines[1:] {
			var e struct {
				Position      int64
				Kind, Payload string
				PrevHash      string `json:"prev_hash"`
				Hash          string
			}
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			p, _ := hex.DecodeString(prev)
			if e.Position != pos || e.PrevHash != prev || hex.EncodeToString(reports.EventHash(p, []byte(e.Payload))) != e.Hash {
				t.Fatalf("line for position %d does not chain from %s: %s", pos, prev, l)
			}
			prev, pos = e.Hash, pos+1
			kinds[e.Kind]++
		}
		if pos != last+1 || prev != head.LastHash {
			t.Errorf("the lines end at %d with %s, the header says %d with %s", pos-1, prev, head.LastPosition, head.LastHash)
		}
		for _, k := range []string{"bet", "stake", "settle", "posting", "market"} {
			if kinds[k] == 0 {
				t.Errorf("the export has no %s event: %v", k, kinds)
			}
		}

		// Tampered: verify names the edited event, rebuild the edited row.
		exec_(t, conn, `UPDATE events SET payload = payload || ' ' WHERE position = 5`)
		if code, out := inplay(t, "platform", "verify", "--postgres-url", dbURL); code != 2 || !strings.Contains(out, "chain broken at position 5") {
			t.Errorf("verify of an edited event: exit %d: %s", code, out)
		}
		var bet string
		pick(t, conn, `SELECT id FROM bets ORDER BY id LIMIT 1`, &bet)
		exec_(t, conn, `UPDATE bets SET stake = stake + 1 WHERE id = '`+bet+`'`)
		if code, out := inplay(t, "platform", "rebuild", "--postgres-url", dbURL); code != 2 || !strings.Contains(out, "["+bet+" ") {
			t.Errorf("rebuild of an edited bet: exit %d: %s", code, out)
		}
	})

	tests := []struct {
		name string
		// corrupt changes the copy and returns the invariant that must
		// catch it and the id its witness must name.
		corrupt func(t *testing.T, conn *pgx.Conn, prefix string) (invariant, id string)
	}{
		{"a deleted posting", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var posting, tx int64
			pick(t, conn, `SELECT p.id, p.tx_id FROM postings p JOIN transactions t ON t.id = p.tx_id
				WHERE t.kind = 'stake' ORDER BY p.id LIMIT 1`, &posting, &tx)
			exec_(t, conn, `DELETE FROM postings WHERE id = `+itoa(posting))
			return reports.InvDoubleEntry, "tx:" + itoa(tx)
		}},
		{"a duplicated bet", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var id string
			pick(t, conn, `SELECT id FROM bets ORDER BY id LIMIT 1`, &id)
			exec_(t, conn, `INSERT INTO bets (id, account_id, market_id, selection_id, stake, odds_e4, requested_odds_e4, status, payout, placed_at, settled_at)
				SELECT id || '-dup', account_id, market_id, selection_id, stake, odds_e4, requested_odds_e4, status, payout, placed_at, settled_at
				FROM bets WHERE id = '`+id+`'`)
			return reports.InvNoPhantomEntries, id + "-dup"
		}},
		{"a wrong payout", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var id string
			pick(t, conn, `SELECT id FROM bets WHERE status = 'won' ORDER BY id LIMIT 1`, &id)
			exec_(t, conn, `UPDATE bets SET payout = payout + 1 WHERE id = '`+id+`'`)
			return reports.InvPayoutsExact, id
		}},
		{"an UPDATE to a posting's amount", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var posting, tx int64
			pick(t, conn, `SELECT p.id, p.tx_id FROM postings p JOIN transactions t ON t.id = p.tx_id
				WHERE t.kind = 'deposit' ORDER BY p.id DESC LIMIT 1`, &posting, &tx)
			exec_(t, conn, `UPDATE postings SET amount = amount + 100 WHERE id = `+itoa(posting))
			return reports.InvDoubleEntry, "tx:" + itoa(tx)
		}},
		{"an orphaned reservation", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			// A settled bet's settlement removed whole (its transaction,
			// postings, and the balances they made), the bet put back to
			// accepted: its stake stays reserved on a resulted market, and
			// the money still adds up.
			var id string
			var tx int64
			pick(t, conn, `SELECT b.id, t.id FROM bets b JOIN transactions t ON t.ref = b.id AND t.kind = 'settle'
				WHERE b.status = 'lost' ORDER BY b.id LIMIT 1`, &id, &tx)
			exec_(t, conn,
				`DELETE FROM postings WHERE tx_id = `+itoa(tx),
				`DELETE FROM transactions WHERE id = `+itoa(tx),
				`UPDATE bets SET status = 'accepted', payout = 0, settled_at = NULL WHERE id = '`+id+`'`,
				`UPDATE accounts a SET balance = COALESCE((SELECT SUM(amount) FROM postings p WHERE p.account_id = a.id), 0)`)
			return reports.InvStakeSettledOnce, id
		}},
		{"the hot state drifting from the ledger", func(t *testing.T, conn *pgx.Conn, prefix string) (string, string) {
			var market string
			pick(t, conn, `SELECT id FROM markets WHERE status = 'settled' ORDER BY id LIMIT 1`, &market)
			if err := rdb.HSet(ctx, prefix+"market:"+market, "status", "open").Err(); err != nil {
				t.Fatal(err)
			}
			return reports.InvHotStateMatches, market
		}},
		{"an edited event", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			// A bet's stake raised in its INSERT event, the hash left.
			var pos int64
			pick(t, conn, `SELECT min(position) FROM events WHERE tbl = 'bets' AND op = 'INSERT'`, &pos)
			exec_(t, conn, `UPDATE events SET payload = replace(payload, '"stake": ', '"stake": 9') WHERE position = `+itoa(pos))
			return reports.InvPostingsAppendOnly, "event:" + itoa(pos)
		}},
		{"a deleted event", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var pos int64
			pick(t, conn, `SELECT min(position) FROM events WHERE tbl = 'postings' AND op = 'INSERT'`, &pos)
			exec_(t, conn, `DELETE FROM events WHERE position = `+itoa(pos))
			return reports.InvPostingsAppendOnly, "event:" + itoa(pos+1)
		}},
		{"a posting updated with the store's trigger disabled", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var posting int64
			pick(t, conn, `SELECT min(id) FROM postings`, &posting)
			alter(t, conn, `ALTER TABLE postings DISABLE TRIGGER postings_events`,
				`ALTER TABLE postings DISABLE TRIGGER postings_append_only`,
				`UPDATE postings SET amount = amount + 100 WHERE id = `+itoa(posting),
				`ALTER TABLE postings ENABLE TRIGGER postings_append_only`,
				`ALTER TABLE postings ENABLE TRIGGER postings_events`)
			return reports.InvEventStoreFolds, "posting:" + itoa(posting)
		}},
		{"a posting updated with the store's trigger on", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var posting int64
			pick(t, conn, `SELECT min(id) FROM postings`, &posting)
			alter(t, conn, `ALTER TABLE postings DISABLE TRIGGER postings_append_only`,
				`UPDATE postings SET amount = amount + 100 WHERE id = `+itoa(posting),
				`ALTER TABLE postings ENABLE TRIGGER postings_append_only`)
			return reports.InvPostingsAppendOnly, "posting:" + itoa(posting)
		}},
		{"a balance changed behind the ledger's back", func(t *testing.T, conn *pgx.Conn, _ string) (string, string) {
			var account string
			pick(t, conn, `SELECT id FROM accounts WHERE kind = 'player' AND balance > 0 ORDER BY id LIMIT 1`, &account)
			exec_(t, conn, `UPDATE accounts SET balance = balance + 500 WHERE id = '`+account+`'`)
			return reports.InvBalancesMatch, account
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, dbURL, prefix := fresh(t)
			name, id := tc.corrupt(t, conn, prefix)
			code, got := recheck(t, dbURL, prefix)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			inv := got[name]
			if inv.Status != reports.StatusFail || !witnessNames(inv, id) {
				var failing []string
				for _, inv := range got {
					if inv.Failed() {
						failing = append(failing, inv.Name)
					}
				}
				slices.Sort(failing)
				t.Fatalf("%s did not catch it with a witness naming %s: %+v (failing: %v)", name, id, inv, failing)
			}
		})
	}
}

func reportInvariant(invs []reports.Invariant, name string) reports.Invariant {
	for _, inv := range invs {
		if inv.Name == name {
			return inv
		}
	}
	return reports.Invariant{}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
