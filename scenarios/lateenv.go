package scenarios

import (
	"context"
	"errors"
	"fmt"

	"github.com/inplaylabs/inplay/chaos"
)

// A run checks its fault plan before the platform starts, and the process
// and store faults act on it after: these controls stand in the run's
// chaos.Env from the start and reach the System's own once it runs.

func (*refLauncher) controlled() {}

var errNotStarted = errors.New("the platform has not started")

// lateProcess is the process named name of the run's System.
type lateProcess struct {
	r    *runner
	name string
}

func (p lateProcess) get() (chaos.Process, error) {
	c, ok := p.r.sys.(Controller)
	if !ok {
		return nil, errNotStarted
	}
	proc, ok := c.Processes()[p.name]
	if !ok {
		return nil, fmt.Errorf("the platform has no process %q under control", p.name)
	}
	return proc, nil
}

func (p lateProcess) do(ctx context.Context, act func(chaos.Process, context.Context) (chaos.ProcessEvent, error)) (chaos.ProcessEvent, error) {
	proc, err := p.get()
	if err != nil {
		return chaos.ProcessEvent{}, err
	}
	return act(proc, ctx)
}

func (p lateProcess) Kill(ctx context.Context) (chaos.ProcessEvent, error) {
	return p.do(ctx, chaos.Process.Kill)
}

func (p lateProcess) Stop(ctx context.Context) (chaos.ProcessEvent, error) {
	return p.do(ctx, chaos.Process.Stop)
}

func (p lateProcess) Start(ctx context.Context) (chaos.ProcessEvent, error) {
	return p.do(ctx, chaos.Process.Start)
}

func (p lateProcess) Pause(ctx context.Context) (chaos.ProcessEvent, error) {
	return p.do(ctx, chaos.Process.Pause)
}

func (p lateProcess) Continue(ctx context.Context) (chaos.ProcessEvent, error) {
	return p.do(ctx, chaos.Process.Continue)
}

// lateStores are the run's System's stores.
type lateStores struct{ r *runner }

func (s lateStores) get() (chaos.Stores, error) {
	c, ok := s.r.sys.(Controller)
	if !ok {
		return nil, errNotStarted
	}
	return c.Stores(), nil
}

func (s lateStores) FlushRedis(ctx context.Context) (int64, error) {
	st, err := s.get()
	if err != nil {
		return 0, err
	}
	return st.FlushRedis(ctx)
}

func (s lateStores) TerminatePostgres(ctx context.Context) ([]int, error) {
	st, err := s.get()
	if err != nil {
		return nil, err
	}
	return st.TerminatePostgres(ctx)
}
