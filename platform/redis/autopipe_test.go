package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/internal/servicetest"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
)

// autoPiped returns a client whose commands go through an AutoPipeline, and
// the AutoPipeline, on the test Redis, under a prefix of the test's own.
func autoPiped(t *testing.T, inFlight int) (*goredis.Client, *redis.AutoPipeline, string) {
	t.Helper()
	addr, prefix := pgtest.RedisPrefix(t)
	opts := servicetest.RedisOptions(t)
	opts.Addr = addr
	client := goredis.NewClient(opts)
	pipe := redis.NewAutoPipeline(opts, inFlight)
	client.AddHook(pipe.Hook())
	t.Cleanup(func() {
		client.Close()
		pipe.Close()
	})
	return client, pipe, prefix
}

// Many goroutines at once: every command gets its own answer, and they
// travel in fewer round trips than commands.
func TestAutoPipelineGathers(t *testing.T) {
	client, pipe, prefix := autoPiped(t, 1)
	ctx := context.Background()
	const workers, each = 64, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("%sk:%d:%d", prefix, w, i)
				if err := client.Set(ctx, key, w*1000+i, 0).Err(); err != nil {
					errs <- err
					return
				}
				got, err := client.Get(ctx, key).Int()
				if err != nil || got != w*1000+i {
					errs <- fmt.Errorf("GET %s = %d, %v; want %d", key, got, err, w*1000+i)
					return
				}
				// A missing key keeps its own redis.Nil inside a pipeline.
				if err := client.Get(ctx, key+":none").Err(); !errors.Is(err, goredis.Nil) {
					errs <- fmt.Errorf("GET of a missing key: %v, want redis.Nil", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	trips, cmds := pipe.Stats()
	if cmds != workers*each*3 {
		t.Fatalf("commands carried = %d, want %d", cmds, workers*each*3)
	}
	if trips >= cmds {
		t.Fatalf("%d commands went in %d round trips: nothing was gathered", cmds, trips)
	}
	t.Logf("%d commands in %d round trips", cmds, trips)
}

// Scripts go through too, NOSCRIPT fallback included, and a command's
// error is its own.
func TestAutoPipelineScriptsAndErrors(t *testing.T) {
	client, _, prefix := autoPiped(t, 2)
	ctx := context.Background()
	script := goredis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
	for i := range 3 {
		n, err := script.Run(ctx, client, []string{prefix + "n"}, 2).Int()
		if err != nil || n != 2*(i+1) {
			t.Fatalf("script run %d = %d, %v; want %d", i, n, err, 2*(i+1))
		}
	}
	if err := client.Set(ctx, prefix+"s", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Incr(ctx, prefix+"s").Err(); err == nil {
		t.Fatal("INCR of a string: no error")
	}
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("a command after a failed one: %v", err)
	}
}

// A caller whose context has ended is not sent, and Close fails what is
// still queued instead of leaving it waiting.
func TestAutoPipelineContextAndClose(t *testing.T) {
	client, pipe, prefix := autoPiped(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := client.Set(ctx, prefix+"k", 1, 0).Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("SET with an ended context: %v, want context.Canceled", err)
	}
	if n, _ := client.Exists(context.Background(), prefix+"k").Result(); n != 0 {
		t.Fatal("a command whose context had ended was sent")
	}
	pipe.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); !errors.Is(err, goredis.ErrClosed) {
		t.Fatalf("PING after Close: %v, want redis.ErrClosed", err)
	}
}
