package redis

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// AutoPipeline gathers the commands that many goroutines issue at once into
// pipelines, the way group commit gathers bets (docs/ledger.md): every bet
// reads its market's price from Redis, and at thousands of bets a second one
// round trip per read costs the platform and Redis more CPU in system calls
// than in the reads themselves.
//
// It is a go-redis hook: a client that has it hands each command to the
// AutoPipeline instead of sending it. Up to maxInFlight pipelines run at
// once on the AutoPipeline's own client; a command is sent at once when one
// may start, so at low load it waits for no one, and otherwise it queues and
// goes with the next pipeline. Each command keeps its own answer and error;
// commands of one goroutine stay in its order, since it waits for each.
//
// Add it last, after any hook that observes commands, so those see each
// command once with its whole latency, queueing included.
type AutoPipeline struct {
	exec        *redis.Client
	maxInFlight int

	sent, commands atomic.Int64 // round trips made, commands they carried

	mu       sync.Mutex
	queue    []*pipedCmd
	inFlight int
	closed   bool
}

type pipedCmd struct {
	cmd  redis.Cmder
	done chan struct{}
	// taken is set under AutoPipeline.mu when a pipeline takes the command;
	// a caller whose context ends before that withdraws it.
	taken, withdrawn bool
}

// maxPipeline bounds one pipeline, so a burst cannot build one answer
// larger than a read buffer is worth.
const maxPipeline = 256

// NewAutoPipeline returns an AutoPipeline that sends on a client of its own
// made from opts, with at most maxInFlight pipelines at once (at least 1).
func NewAutoPipeline(opts *redis.Options, maxInFlight int) *AutoPipeline {
	return &AutoPipeline{exec: redis.NewClient(opts), maxInFlight: max(maxInFlight, 1)}
}

// Hook is the hook to add to the client whose commands are to be gathered.
func (a *AutoPipeline) Hook() redis.Hook { return autoPipeHook{a} }

// Stats returns how many round trips the AutoPipeline has made and how
// many commands they carried.
func (a *AutoPipeline) Stats() (roundTrips, commands int64) {
	return a.sent.Load(), a.commands.Load()
}

// Close closes the AutoPipeline's own client. Commands still queued fail.
func (a *AutoPipeline) Close() error {
	a.mu.Lock()
	a.closed = true
	queued := a.queue
	a.queue = nil
	a.mu.Unlock()
	for _, p := range queued {
		p.cmd.SetErr(redis.ErrClosed)
		close(p.done)
	}
	return a.exec.Close()
}

func (a *AutoPipeline) do(ctx context.Context, cmd redis.Cmder) error {
	if err := ctx.Err(); err != nil {
		cmd.SetErr(err)
		return err
	}
	p := &pipedCmd{cmd: cmd, done: make(chan struct{})}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		cmd.SetErr(redis.ErrClosed)
		return redis.ErrClosed
	}
	a.queue = append(a.queue, p)
	a.kick()
	a.mu.Unlock()
	select {
	case <-p.done:
		return cmd.Err()
	case <-ctx.Done():
		a.mu.Lock()
		if !p.taken {
			p.withdrawn = true
			a.mu.Unlock()
			cmd.SetErr(ctx.Err())
			return ctx.Err()
		}
		a.mu.Unlock()
		<-p.done // sent: its answer is what Redis did
		return cmd.Err()
	}
}

// kick starts pipelines while one may start and commands are queued.
// a.mu must be held.
func (a *AutoPipeline) kick() {
	for a.inFlight < a.maxInFlight && len(a.queue) > 0 {
		n := min(len(a.queue), maxPipeline)
		batch := make([]*pipedCmd, 0, n)
		for _, p := range a.queue[:n] {
			if !p.withdrawn {
				p.taken = true
				batch = append(batch, p)
			}
		}
		clear(a.queue[:n])
		a.queue = a.queue[n:]
		if len(batch) == 0 {
			continue
		}
		a.inFlight++
		go a.run(batch)
	}
}

// run sends one pipeline and wakes its callers. The pipeline's own context
// is not any caller's: it serves them all, and the client's read and write
// timeouts bound it.
func (a *AutoPipeline) run(batch []*pipedCmd) {
	ctx := context.Background()
	a.sent.Add(1)
	a.commands.Add(int64(len(batch)))
	if len(batch) == 1 {
		_ = a.exec.Process(ctx, batch[0].cmd)
	} else {
		pipe := a.exec.Pipeline()
		for _, p := range batch {
			_ = pipe.Process(ctx, p.cmd)
		}
		_, _ = pipe.Exec(ctx) // each command holds its own error
	}
	for _, p := range batch {
		close(p.done)
	}
	a.mu.Lock()
	a.inFlight--
	a.kick()
	a.mu.Unlock()
}

type autoPipeHook struct{ a *AutoPipeline }

func (h autoPipeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h autoPipeHook) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return h.a.do
}

func (h autoPipeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
