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

	"github.com/inplaylabs/inplay/chaos"
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
	InPlayDelay      time.Duration
	BetDelayFromFeed bool // platform.in_play_delay: feed
	HoldBets         bool // platform.hold_bets
	EventStore       bool // platform.event_store
	MaxStake         int64
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
	args := []string{"platform",
		"--listen-fd", "3",
		"--redis-url", fmt.Sprintf("redis://%s/%d", w.RedisAddr, w.RedisDB),
		"--redis-prefix", w.KeyPrefix,
		"--postgres-url", w.PostgresURL,
		"--feed-url", w.FeedURL,
		"--in-play-delay", l.cfg.InPlayDelay.String(),
		"--bet-delay-from-feed=" + strconv.FormatBool(l.cfg.BetDelayFromFeed),
		"--hold-bets=" + strconv.FormatBool(l.cfg.HoldBets),
		"--event-store=" + strconv.FormatBool(l.cfg.EventStore),
		"--max-stake", strconv.FormatInt(l.cfg.MaxStake, 10),
		"--shutdown-timeout", (platformStopGrace - 2*time.Second).String(),
		"--log-level", "info",
	}
	args = append(args, l.extraArgs...)
	p := &refProcess{launcher: l, args: args, wiring: w, crashed: make(chan struct{}), api: w.APIURL, stream: w.StreamURL}
	ok := false
	defer func() {
		if !ok {
			p.Stop(context.WithoutCancel(ctx))
		}
	}()
	if _, err := p.startChild(ctx); err != nil {
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

// refProcess is the running reference platform: one child process at a
// time, started again on the same listener after a kill or stop by its
// control (control.go).
type refProcess struct {
	launcher    *refLauncher
	args        []string // the child's command line, the same for every start
	wiring      Wiring
	api, stream string
	pool        *pgxpool.Pool

	// ctl serialises whatever changes the process: the control's calls and
	// the final Stop, so a restart and the run's cleanup never cross.
	ctl sync.Mutex

	mu       sync.Mutex
	child    *refChild // the newest child; nil before the first start
	starts   int       // children started so far
	paused   bool      // the newest child was sent SIGSTOP and not SIGCONT since
	stopping bool      // Stop was called: every exit from now on is expected
	peak     int64     // the highest VmHWM of the children already ended, in bytes
	reason   string    // why the platform crashed, once crashed is closed
	crashed  chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// refChild is one `inplay platform` process.
type refChild struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has ended, for any reason
	waitErr error         // cmd.Wait's error, once exited
	planned bool          // guarded by refProcess.mu: the harness ended it on purpose
}

func (c *refChild) pid() int {
	if c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// how describes the child's end: its exit code or the signal.
func (c *refChild) how() string {
	select {
	case <-c.exited:
	default:
		return "still running"
	}
	if c.cmd.ProcessState == nil {
		return fmt.Sprintf("did not start: %v", c.waitErr)
	}
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit code %d", c.cmd.ProcessState.ExitCode())
}

// exit is the child's end as os/exec words it ("signal: killed", "exit
// status 0"), for a ProcessEvent.
func (c *refChild) exit() string {
	if c.cmd.ProcessState == nil {
		return "did not start"
	}
	return c.cmd.ProcessState.String()
}

// startChild starts one more child on the launcher's listener, marks its
// start in platform.log (every child appends there) and waits for its
// /readyz.
func (p *refProcess) startChild(ctx context.Context) (chaos.ProcessEvent, error) {
	l := p.launcher
	file, err := l.ln.File() // a dup: the child gets its own descriptor
	if err != nil {
		return chaos.ProcessEvent{}, fmt.Errorf("reference platform: listener file: %w", err)
	}
	defer file.Close()
	cmd := exec.Command(l.binary, p.args...)
	cmd.ExtraFiles = []*os.File{file}
	cmd.Stdout, cmd.Stderr = l.log, l.log
	cmd.Env = platformEnv()
	// Its own process group, so a Ctrl-C on the terminal reaches the
	// harness, which stops the platform in order (and a pause can stop the
	// whole group); and SIGKILL if the harness dies, so no platform
	// outlives its run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p.mu.Lock()
	p.starts++
	n := p.starts
	p.mu.Unlock()
	at := time.Now()
	// The children share platform.log's file offset with the harness, so
	// this line lands between one child's output and the next's.
	fmt.Fprintf(l.log, "--- inplay: platform start %d at %s ---\n", n, at.UTC().Format(time.RFC3339Nano))
	c := &refChild{cmd: cmd, exited: make(chan struct{})}
	if err := p.launch(c); err != nil {
		return chaos.ProcessEvent{}, fmt.Errorf("reference platform: start %s: %w", l.binary, err)
	}
	p.mu.Lock()
	p.child, p.paused = c, false
	p.mu.Unlock()
	// The harness's copy of the listener stays open until Stop, so that
	// connections made while the platform restarts wait in the backlog
	// rather than being refused.
	if err := p.waitReady(ctx, c, "http://"+l.ln.Addr().String()+readyPath); err != nil {
		return chaos.ProcessEvent{Action: "start", PID: c.pid(), At: at}, err
	}
	return chaos.ProcessEvent{Action: "start", PID: c.pid(), At: at, Ready: time.Since(at)}, nil
}

// launch starts c on a goroutine locked to its OS thread, which lives until
// the process ends: Linux sends Pdeathsig when the thread that forked the
// child exits, not the process. An end nobody planned closes crashed.
func (p *refProcess) launch(c *refChild) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			c.waitErr = err
			close(c.exited)
			return
		}
		started <- nil
		c.waitErr = c.cmd.Wait()
		close(c.exited)
		p.mu.Lock()
		planned := c.planned || p.stopping
		p.mu.Unlock()
		if !planned {
			p.crash(fmt.Sprintf("the reference platform (pid %d) exited on its own: %s%s", c.pid(), c.how(), p.tail()))
		}
	}()
	return <-started
}

// crash records why the platform is down against the harness's plan and
// closes crashed, once.
func (p *refProcess) crash(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reason != "" {
		return
	}
	p.reason = reason
	close(p.crashed)
}

// current returns the newest child, nil before the first start.
func (p *refProcess) current() *refChild {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.child
}

// waitReady polls url until it answers 200, c ends, or the bound passes.
func (p *refProcess) waitReady(ctx context.Context, c *refChild, url string) error {
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
		case <-c.exited:
			return fmt.Errorf("reference platform exited before it was ready (%s)%s", c.how(), p.tail())
		case <-ctx.Done():
			return fmt.Errorf("reference platform: not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reference platform not ready after %s (last answer: %s)%s", platformReadyTimeout, last, p.tail())
		}
	}
}

func (p *refProcess) Target() replay.Target {
	return replay.NewHTTPTarget(p.api, p.wiring.TargetOptions...)
}
func (p *refProcess) QuoteStreamURL() string       { return p.stream }
func (p *refProcess) Ledger() reports.LedgerSource { return reports.NewPostgresLedger(p.pool) }

// EventStore implements EventStorer: the run's database, read directly.
func (p *refProcess) EventStore() reports.EventStoreSource {
	return reports.NewPostgresEventStore(p.pool)
}
func (p *refProcess) Exited() <-chan struct{} { return p.crashed }

// Pid is the newest child's pid: after a restart, the new process's.
func (p *refProcess) Pid() int {
	if c := p.current(); c != nil {
		return c.pid()
	}
	return 0
}

func (p *refProcess) ExitReason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reason == "" {
		return fmt.Sprintf("the reference platform (pid %d) is running", p.Pid())
	}
	return p.reason
}

// PeakRSS returns the platform's peak resident set size so far (VmHWM from
// /proc), in bytes, for capacity figures: the highest of every child's,
// the ones the control ended included.
func (p *refProcess) PeakRSS() (int64, error) {
	p.mu.Lock()
	peak := p.peak
	p.mu.Unlock()
	rss, err := vmHWM(p.Pid())
	if err != nil && peak == 0 {
		return 0, err
	}
	return max(peak, rss), nil
}

// notePeak keeps c's VmHWM before it ends: /proc forgets it then.
func (p *refProcess) notePeak(c *refChild) {
	rss, err := vmHWM(c.pid())
	if err != nil {
		return
	}
	p.mu.Lock()
	p.peak = max(p.peak, rss)
	p.mu.Unlock()
}

// vmHWM reads a process's peak resident set size from /proc, in bytes.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
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

// tail returns the platform's last log lines, for an error message.
func (p *refProcess) tail() string {
	lines := tailLines(p.launcher.log.Name(), logTailLines)
	if lines == "" {
		return ""
	}
	return "\nlast lines of " + p.launcher.log.Name() + ":\n" + lines
}

// end ends c on purpose and waits until it is gone: gracefully (SIGTERM,
// SIGKILL past platformStopGrace) or with SIGKILL at once. A paused child
// is continued first, since a stopped process does not act on SIGTERM.
// The caller holds ctl.
func (p *refProcess) end(c *refChild, graceful bool) (time.Time, error) {
	p.mu.Lock()
	c.planned = true
	p.mu.Unlock()
	at := time.Now()
	select {
	case <-c.exited:
		return at, nil
	default:
	}
	p.notePeak(c)
	pid := c.pid()
	var errs []error
	if graceful {
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("SIGTERM platform: %w", err))
		}
		syscall.Kill(-pid, syscall.SIGCONT) // its own group (Setpgid)
		select {
		case <-c.exited:
		case <-time.After(platformStopGrace):
			errs = append(errs, fmt.Errorf("platform did not stop within %s of SIGTERM; killed", platformStopGrace))
		}
	}
	select {
	case <-c.exited:
	default:
		// The whole group, in case the platform ever forks.
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("SIGKILL platform: %w", err))
		}
		select {
		case <-c.exited:
		case <-time.After(platformStopGrace):
			errs = append(errs, fmt.Errorf("platform pid %d still there %s after SIGKILL", pid, platformStopGrace))
		}
	}
	p.mu.Lock()
	if p.child == c {
		p.paused = false
	}
	p.mu.Unlock()
	return at, errors.Join(errs...)
}

// Stop ends the platform (continuing it first if it is paused): SIGTERM,
// then SIGKILL past the bound; then closes the listener and the ledger
// pool. It waits for a control call in progress, which is bounded.
func (p *refProcess) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.ctl.Lock()
		defer p.ctl.Unlock()
		p.mu.Lock()
		p.stopping = true
		c := p.child
		p.mu.Unlock()
		var errs []error
		if c != nil {
			_, err := p.end(c, true)
			errs = append(errs, err)
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
