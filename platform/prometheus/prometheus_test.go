package prometheus_test

import (
	"context"
	"net"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/prometheus"
)

func TestRedisHookCountsFailuresOnly(t *testing.T) {
	addr, prefix := pgtest.RedisPrefix(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	tests := []struct {
		name string
		addr string
		do   func(c *goredis.Client) error
		want float64
	}{
		// A live server: commands, a script's first run (NOSCRIPT, then EVAL) and a miss are no failures.
		{"ok", addr, func(c *goredis.Client) error {
			c.Set(ctx, prefix+"k", "v", time.Minute)
			c.Get(ctx, prefix+"missing")
			goredis.NewScript(`return 1 -- `+prefix).Run(ctx, c, nil)
			_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error { p.Get(ctx, prefix+"k"); return nil })
			return err
		}, 0},
		// No server: each command and pipeline counts once.
		{"down", dead, func(c *goredis.Client) error {
			c.Ping(ctx)
			c.Pipelined(ctx, func(p goredis.Pipeliner) error { p.Get(ctx, "a"); p.Get(ctx, "b"); return nil })
			return nil
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := prometheus.New()
			c := goredis.NewClient(&goredis.Options{Addr: tt.addr, MaxRetries: -1})
			defer c.Close()
			c.AddHook(m.RedisHook())
			if err := tt.do(c); err != nil {
				t.Fatal(err)
			}
			var got dto.Metric
			if err := prometheus.StoreErrors(m, prometheus.StoreRedis).Write(&got); err != nil {
				t.Fatal(err)
			}
			if got.GetCounter().GetValue() != tt.want {
				t.Fatalf("redis errors = %v, want %v", got.GetCounter().GetValue(), tt.want)
			}
		})
	}
}
