package scenarios

import (
	"context"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// System is a platform under test as a run sees it (DESIGN.md, "The system
// under test"): where bettor requests go, where quotes come from, how its
// ledger is read, and, when the run controls it, its process. The harness
// reaches a platform only through these. The reference platform, run as a
// child process, is the first implementation.
type System interface {
	// Target sends the replay's bettor requests (through the api link).
	Target() replay.Target
	// QuoteStreamURL is the base URL of the quote stream (through the
	// stream link), "" when the platform has none.
	QuoteStreamURL() string
	// Ledger reads the platform's ledger for reconciliation, directly, never
	// through a fault.
	Ledger() reports.LedgerSource
	// Pid is the platform's process id, for process faults; 0 when the run
	// does not control the platform's process.
	Pid() int
	// Exited is closed when the platform stops without being asked to
	// (a crash); nil when the run cannot tell.
	Exited() <-chan struct{}
	// ExitReason says how the platform ended, with its last log lines, once
	// Exited is closed.
	ExitReason() string
	// Stop stops the platform and releases what the System holds. It is
	// called on every exit path of a run and is safe to call twice.
	Stop(ctx context.Context) error
}

// Controller is the optional ability of a System whose processes and
// stores the run controls: its part of the chaos.Env the process and store
// faults act through (chaos/control.go). A run finds it by type assertion;
// a System without it gets those faults refused.
//
// An end the controller causes (a kill, a stop) is planned: Exited does not
// close for it. A later unplanned end, of the first process or of one
// started again, still closes Exited. Stop continues a paused process
// before it stops it.
type Controller interface {
	// Processes are the System's processes by fault target: "platform".
	Processes() map[string]chaos.Process
	// Stores takes the run's own data from the System's stores (its key
	// prefix, its database), and nothing else.
	Stores() chaos.Stores
}

// HotStater is the optional ability of a System whose hot state the checker
// can read by a documented layout (docs/hot-state.md), for the invariant
// hot_state_matches_ledger. A run finds it by type assertion; without it
// that invariant is reported not checked.
type HotStater interface {
	// HotState reads the platform's hot state directly, never through a
	// fault.
	HotState() reports.HotStateSource
}

// EventStorer is the optional ability of a System whose event store the
// checker can read by a documented layout (docs/event-store.md), for the
// invariants postings_append_only and event_store_folds_to_ledger. A run
// finds it by type assertion; without it those invariants are reported
// not checked.
type EventStorer interface {
	// EventStore reads the platform's event store directly, never through
	// a fault.
	EventStore() reports.EventStoreSource
}

// Upstreams are the addresses a System listens on before it starts, which
// the run puts links in front of: the bet API and the quote stream
// (host:port; the same address when one server has both).
type Upstreams struct {
	API, Stream string
}

// Wiring is what a System is started with: every address it dials and every
// address the harness dials it on, each through its chaos link.
type Wiring struct {
	RedisAddr string // platform → redis link
	RedisDB   int
	KeyPrefix string
	// StoreRedisAddr is the run's Redis reached directly, never through a
	// fault, for the store faults' own work (Controller.Stores); ""
	// means RedisAddr.
	StoreRedisAddr string
	PostgresURL    string // the run's database, through the platform → postgres link
	FeedURL        string // the feed server, through the platform → feed link
	APIURL         string // the bet API, through the harness → api link
	StreamURL      string // the quote stream, through the harness → stream link
	// LedgerURL is the run's database reached directly, for the checker.
	LedgerURL string
	// TargetOptions configure the HTTP target a System makes for the
	// replay: the run's end of the api link (replay.LoseAnswers, for the
	// ack_lost fault).
	TargetOptions []replay.HTTPTargetOption
}

// controlledLauncher is a Launcher whose Systems are Controllers, known
// before they start, so that a run can accept process and store faults
// when it checks its plan.
type controlledLauncher interface {
	Launcher
	controlled()
}

// Launcher prepares and starts a System. Prepare runs before the links are
// made (so they can point at its addresses); Start runs after, and returns
// once the platform is ready for traffic.
type Launcher interface {
	Prepare(ctx context.Context) (Upstreams, error)
	Start(ctx context.Context, w Wiring) (System, error)
	// Close releases what Prepare took when Start was never called or
	// failed. It is safe to call after Stop.
	Close() error
}
