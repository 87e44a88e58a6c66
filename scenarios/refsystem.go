package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// Bounds on the reference platform's process.
const (
	// platformReadyTimeout bounds the wait for /readyz after the start.
	platformReadyTimeout = 30 * time.Second
	// platformStopGrace is how long the platform may take to finish its
	// requests after SIGTERM before it is killed.
	platformStopGrace = 10 * time.Second
	// logTailLines is how many of the platform's last log lines an error
	// quotes.
	logTailLines = 20
	// readyPath answers 200 once the platform's stores and feed are
	// connected.
	readyPath = "/readyz"
)

// refLauncher runs the reference platform as a child process: the same
// binary, `inplay platform`, serving on a listener the harness made, so the
// links can be put in front of it before it starts.
type refLauncher struct {
	binary string   // the inplay executable
	log    *os.File // the platform's stdout and stderr: platform.log
	cfg    PlatformSettings
	// extraArgs follow the launcher's own flags.
	extraArgs []string

	ln *net.TCPListener
}

// PlatformSettings are the scenario's platform: settings, handed to the
// reference platform's flags.
type PlatformSettings struct {
	InPlayDelay time.Duration
	MaxStake    int64
}

func (l *refLauncher) Prepare(ctx context.Context) (Upstreams, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return Upstreams{}, fmt.Errorf("listen for the platform: %w", err)
	}
	l.ln = ln.(*net.TCPListener)
	addr := l.ln.Addr().String()
	return Upstreams{API: addr, Stream: addr}, nil
}

func (l *refLauncher) Close() error {
	if l.ln == nil {
		return nil
	}
	err := l.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Start starts `inplay platform` with the listener as its fd 3, every store
// and the feed through their links, and waits for its /readyz.
func (l *refLauncher) Start(ctx context.Context, w Wiring) (System, error) {
	if l.ln == nil {
		return nil, errors.New("reference platform: Start before Prepare")
	}
	file, err := l.ln.File() // a dup: the child gets its own descriptor
	if err != nil {
		return nil, fmt.Errorf("reference platform: listener file: %w", err)
	}
	defer file.Close()
	args := []string{"platform",
		"--listen-fd", "3",
		"--redis-url", fmt.Sprintf("redis://%s/%d", w.RedisAddr, w.RedisDB),
		"--redis-prefix", w.KeyPrefix,
		"--postgres-url", w.PostgresURL,
		"--feed-url", w.FeedURL,
		"--in-play-delay", l.cfg.InPlayDelay.String(),
		"--max-stake", strconv.FormatInt(l.cfg.MaxStake, 10),
		"--shutdown-timeout", (platformStopGrace - 2*time.Second).String(),
		"--log-level", "info",
	}
	args = append(args, l.extraArgs...)
	cmd := exec.Command(l.binary, args...)
	cmd.ExtraFiles = []*os.File{file}
	cmd.Stdout, cmd.Stderr = l.log, l.log
	cmd.Env = platformEnv()
	// Its own process group, so a Ctrl-C on the terminal reaches the
	// harness, which stops the platform in order; and SIGKILL if the
	// harness dies, so no platform outlives its run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p := &refProcess{launcher: l, cmd: cmd, exited: make(chan struct{}), api: w.APIURL, stream: w.StreamURL}
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("reference platform: start %s: %w", l.binary, err)
	}
	ok := false
	defer func() {
		if !ok {
			p.Stop(context.WithoutCancel(ctx))
		}
	}()
	// The harness's copy of the listener stays open until Stop, so that
	// connections made while the platform restarts wait in the backlog
	// rather than being refused.
	if err := p.waitReady(ctx, "http://"+l.ln.Addr().String()+readyPath); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, w.LedgerURL)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	p.pool = pool
	ok = true
	return p, nil
}

// platformEnv is the harness's environment without the INPLAY_* variables:
// the flags say everything the platform needs, and the harness's own
// INPLAY_POSTGRES_URL is an admin URL, not the run's database.
func platformEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "INPLAY_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// refProcess is the running reference platform.
type refProcess struct {
	launcher    *refLauncher
	cmd         *exec.Cmd
	api, stream string
	pool        *pgxpool.Pool

	exited   chan struct{} // closed when the process has ended, for any reason
	waitErr  error         // cmd.Wait's error, once exited
	mu       sync.Mutex
	stopping bool // Stop was called: an exit is expected
	crashed  chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// start starts the process on a goroutine locked to its OS thread, which
// lives until the process ends: Linux sends Pdeathsig when the thread that
// forked the child exits, not the process.
func (p *refProcess) start() error {
	p.crashed = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			close(p.exited)
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.exited)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if !stopping {
			close(p.crashed)
		}
	}()
	return <-started
}

// waitReady polls url until it answers 200, the process ends, or the bound
// passes.
func (p *refProcess) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(platformReadyTimeout)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		select {
		case <-p.exited:
			return fmt.Errorf("reference platform exited before it was ready (%s)%s", p.how(), p.tail())
		case <-ctx.Done():
			return fmt.Errorf("reference platform: not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reference platform not ready after %s (last answer: %s)%s", platformReadyTimeout, last, p.tail())
		}
	}
}

func (p *refProcess) Target() replay.Target        { return replay.NewHTTPTarget(p.api) }
func (p *refProcess) QuoteStreamURL() string       { return p.stream }
func (p *refProcess) Ledger() reports.LedgerSource { return reports.NewPostgresLedger(p.pool) }
func (p *refProcess) Exited() <-chan struct{}      { return p.crashed }

func (p *refProcess) Pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *refProcess) ExitReason() string {
	return fmt.Sprintf("the reference platform (pid %d) exited on its own: %s%s", p.Pid(), p.how(), p.tail())
}

// PeakRSS returns the platform's peak resident set size so far (VmHWM from
// /proc), in bytes, for capacity figures.
func (p *refProcess) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// how describes the process's end: its exit code or the signal.
func (p *refProcess) how() string {
	select {
	case <-p.exited:
	default:
		return "still running"
	}
	if p.cmd.ProcessState == nil {
		return fmt.Sprintf("did not start: %v", p.waitErr)
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit code %d", p.cmd.ProcessState.ExitCode())
}

// tail returns the platform's last log lines, for an error message.
func (p *refProcess) tail() string {
	lines := tailLines(p.launcher.log.Name(), logTailLines)
	if lines == "" {
		return ""
	}
	return "\nlast lines of " + p.launcher.log.Name() + ":\n" + lines
}

// Stop sends SIGTERM, waits for the platform to finish its requests, then
// SIGKILLs it past the bound; then closes the listener and the ledger pool.
func (p *refProcess) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopping = true
		p.mu.Unlock()
		var errs []error
		select {
		case <-p.exited:
		default:
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("SIGTERM platform: %w", err))
			}
			select {
			case <-p.exited:
			case <-time.After(platformStopGrace):
				errs = append(errs, fmt.Errorf("platform did not stop within %s of SIGTERM; killed", platformStopGrace))
				p.cmd.Process.Kill()
				<-p.exited
			}
		}
		if p.pool != nil {
			p.pool.Close()
		}
		errs = append(errs, p.launcher.Close())
		p.stopErr = errors.Join(errs...)
	})
	return p.stopErr
}

// tailLines returns the last n lines of the file at path, "" if none.
func tailLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-window, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // the first may be cut
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
