package chaos

import (
	"context"
	"time"
)

// This file is the contract between the fault kinds and the run that hosts
// them, for the faults that are not toxiproxy toxics: a process killed,
// paused or restarted, a store's data taken away, a feed altered. The run
// (package scenarios) implements these interfaces for its own system under
// test and feed server; a fault kind only ever reaches the world through
// them, and through the Layer's links.
//
// Every implementation touches only what belongs to the run: its own
// platform process, its own Redis key prefix, its own database. The
// machine's Redis and PostgreSQL serve other runs and tests.

// Process controls one process of the system under test (the reference
// platform, target "platform"). Each method returns the event it caused,
// for the evidence, and an error when it could not cause it.
type Process interface {
	// Kill sends SIGKILL and waits until the process is gone. It does not
	// start it again: Start does.
	Kill(ctx context.Context) (ProcessEvent, error)
	// Stop stops the process gracefully (SIGTERM; it finishes what it has
	// in flight) and waits until it is gone.
	Stop(ctx context.Context) (ProcessEvent, error)
	// Start starts the process again after Kill or Stop, on the same
	// listener and stores, and waits until it is ready.
	Start(ctx context.Context) (ProcessEvent, error)
	// Pause sends SIGSTOP to the process (and its group) and checks that it
	// stopped.
	Pause(ctx context.Context) (ProcessEvent, error)
	// Continue sends SIGCONT and checks that it runs again.
	Continue(ctx context.Context) (ProcessEvent, error)
}

// ProcessEvent is what one Process call did, as the operating system saw it.
type ProcessEvent struct {
	Action string    // kill, stop, start, pause, continue
	PID    int       // the process acted on (for start: the new one)
	At     time.Time // when the action was taken
	// Exit is how the process ended, for kill and stop: "signal: killed",
	// "exit status 0".
	Exit string
	// State is the process's state read back from /proc after pause or
	// continue ("T (stopped)", "S (sleeping)"), the proof that it took.
	State string
	// Ready is how long the process took from its start to answering
	// ready, for start.
	Ready time.Duration
}

// Stores takes the run's own data away from its stores.
type Stores interface {
	// FlushRedis deletes every key under the run's prefix, and only those,
	// and returns how many it deleted.
	FlushRedis(ctx context.Context) (keys int64, err error)
	// TerminatePostgres ends, with pg_terminate_backend, the platform's
	// connections to the run's database, and only those, and returns the
	// backend pids it ended.
	TerminatePostgres(ctx context.Context) (pids []int, err error)
}

// Feed alters what the run's feed server sends, for a feed fault.
type Feed interface {
	// StartFault starts altering the stream as f says, and returns a
	// function that ends the alteration and reports what was altered.
	StartFault(ctx context.Context, f FeedFault) (end func() FeedAlterations, err error)
}

// FeedFault is one alteration of the feed stream (target "feed").
type FeedFault struct {
	// Kind is one of dropout (nothing sent, heartbeats included), duplicate
	// (messages sent twice), reorder (messages shuffled within Window), gap
	// (a seq skipped: the message is never sent on the stream), stale (old
	// messages sent again), malformed (bodies that do not parse), burst
	// (messages held and then sent at once when the fault ends) and skew
	// (vendor timestamps shifted by Skew).
	Kind string
	// Every alters one message in Every (1 or 0: every message) for the
	// kinds that alter single messages.
	Every int
	// Window is the reorder window.
	Window time.Duration
	// Skew is the shift of the vendor timestamps.
	Skew time.Duration
}

// FeedAlterations is what a feed fault did: the messages it saw and what it
// did to them, counted by kind of alteration ("duplicated", "dropped",
// "reordered", "skipped", "resent", "malformed", "held", "skewed").
type FeedAlterations struct {
	Messages int64            // messages published while the fault was on
	Altered  map[string]int64 // by kind of alteration
	// Seqs are some of the altered messages' seqs (at most 20), for the
	// evidence.
	Seqs []int64
}

// Answers loses the platform's answers on their way back to the harness,
// for the protocol fault ack_lost (target "api"): the request reaches the
// platform, which handles it and commits what it commits, and its answer
// never reaches the client, whose outcome is then unknown.
type Answers interface {
	// StartAckLoss starts losing one answer in every (1 or 0: every answer)
	// and returns a function that stops it and reports what was lost.
	StartAckLoss(ctx context.Context, every int) (end func() AnswersLost, err error)
}

// AnswersLost is what an ack_lost fault did.
type AnswersLost struct {
	Requests int64 // requests sent while the fault was on
	// Lost are the ids of the events whose answers were lost (deposit,
	// withdrawal, bet or cash-out ids), each once.
	Lost []string
}

// Env is what a run hands the fault kinds. A nil field means the run has no
// such control; a fault that needs it is refused at validation.
type Env struct {
	Layer *Layer
	// Processes by target: "platform" for the reference platform.
	Processes map[string]Process
	Stores    Stores
	Feed      Feed
	Answers   Answers
}
