package scenarios

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/reports"
)

// flushBatch is how many keys one SCAN step asks for and one UNLINK
// deletes: small enough not to hold Redis up for other runs.
const flushBatch = 500

// harnessApplicationName is the harness's own application_name, so that its
// connections are never mistaken for the platform's.
const harnessApplicationName = "inplay-harness"

// refStores is the reference platform's chaos.Stores: the run's Redis key
// prefix and database, reached directly (never through a fault), and only
// those.
type refStores struct {
	redisAddr string
	redisDB   int
	prefix    string
	ledgerURL string // the run's database
}

var _ chaos.Stores = refStores{}

// Stores implements Controller.
func (p *refProcess) Stores() chaos.Stores {
	addr := p.wiring.StoreRedisAddr
	if addr == "" {
		addr = p.wiring.RedisAddr
	}
	return refStores{redisAddr: addr, redisDB: p.wiring.RedisDB, prefix: p.wiring.KeyPrefix, ledgerURL: p.wiring.LedgerURL}
}

// FlushRedis implements chaos.Stores: SCAN MATCH prefix* and UNLINK, in
// batches. Never FLUSHDB or FLUSHALL: the machine's Redis serves other runs.
func (s refStores) FlushRedis(ctx context.Context) (int64, error) {
	if s.prefix == "" {
		return 0, errors.New("flush redis: the run has no key prefix; refusing to delete every key")
	}
	client := goredis.NewClient(&goredis.Options{Addr: s.redisAddr, DB: s.redisDB})
	defer client.Close()
	return deleteByPrefix(ctx, client, s.prefix)
}

// deleteByPrefix deletes every key that starts with prefix and returns how
// many it deleted.
func deleteByPrefix(ctx context.Context, client goredis.UniversalClient, prefix string) (int64, error) {
	match := redis.EscapeGlob(prefix) + "*"
	var (
		cursor  uint64
		deleted int64
	)
	for {
		keys, next, err := client.Scan(ctx, cursor, match, flushBatch).Result()
		if err != nil {
			return deleted, fmt.Errorf("flush redis: scan %s: %w", match, err)
		}
		if len(keys) > 0 {
			n, err := client.Unlink(ctx, keys...).Result()
			if err != nil {
				return deleted, fmt.Errorf("flush redis: unlink: %w", err)
			}
			deleted += n
		}
		if next == 0 {
			return deleted, nil
		}
		cursor = next
	}
}

// terminateSQL ends the platform's backends on the run's database: by
// database, by the platform's application_name, and never the caller's own.
// The targets are chosen first (MATERIALIZED), so pg_terminate_backend is
// never evaluated for a row the filter would have dropped.
const terminateSQL = `WITH targets AS MATERIALIZED (
		SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid())
	SELECT pid, pg_terminate_backend(pid) FROM targets`

// TerminatePostgres implements chaos.Stores.
func (s refStores) TerminatePostgres(ctx context.Context) ([]int, error) {
	cfg, err := pgx.ParseConfig(s.ledgerURL)
	if err != nil {
		return nil, fmt.Errorf("terminate postgres: %w", err)
	}
	cfg.RuntimeParams["application_name"] = harnessApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("terminate postgres: connect to the run's database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, terminateSQL, postgres.ApplicationName)
	if err != nil {
		return nil, fmt.Errorf("terminate postgres: %w", err)
	}
	var (
		out  []int
		pid  int32
		done bool
	)
	_, err = pgx.ForEachRow(rows, []any{&pid, &done}, func() error {
		if done { // false: the backend was gone already
			out = append(out, int(pid))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("terminate postgres: %w", err)
	}
	return out, nil
}

// HotState implements HotStater: the run's key prefix in its Redis, reached
// directly, read by reports' own reader of docs/hot-state.md.
func (p *refProcess) HotState() reports.HotStateSource { return refHotState{p.Stores().(refStores)} }

// refHotState reads the hot state on a client of its own for each read,
// so that nothing outlives the run.
type refHotState struct{ s refStores }

func (h refHotState) HotState(ctx context.Context) (*reports.HotState, error) {
	client := goredis.NewClient(&goredis.Options{Addr: h.s.redisAddr, DB: h.s.redisDB})
	defer client.Close()
	return reports.NewRedisHotState(client, h.s.prefix).HotState(ctx)
}
