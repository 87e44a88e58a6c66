package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Evidence is what proves, or fails to prove, that one fault landed and was
// healed: what was done, what its own control read back, what the probes
// measured, what the platform sent through it, and what each family of
// faults saw of its own (process events, feed alterations, keys flushed,
// backends ended). String renders it in the one line report.json carries.
type Evidence struct {
	// What was done and where: "toxic redis-slow_1 on link redis",
	// "link postgres down", "SIGKILL to platform".
	What string
	// Fault is the configured fault: "latency 200ms±20ms, downstream,
	// toxicity 1".
	Fault string
	// NotInjected says why the fault never went in (bad params, no such
	// target, the run ended first); empty when it was tried.
	NotInjected string
	// InjectErr is why the injection failed, when it did.
	InjectErr error
	// InjectedAt is when the fault went in, from the replay's zero.
	InjectedAt time.Duration

	// ReadBack is the fault read back through its own control right after
	// the injection, with where it was read: "API: toxic x present (...)".
	ReadBack string
	// Before, During and After are the probes through the faulted path: a
	// baseline just before the injection, one or more during, one after
	// the heal. nil and empty when the kind has no probe.
	Before *ProbeResult
	During []ProbeResult
	After  *ProbeResult
	// Judged is what the probes showed, compared with the baseline.
	Judged string
	// Traffic is the platform's own bytes through the link while the fault
	// was in place; nil for faults not on a link.
	Traffic *Traffic

	// Process holds the process events, in order (kill, pause, restart).
	Process []ProcessEvent
	// Feed is what a feed fault did to the stream, and Expect the kind of
	// alteration that proves it ("dropped", "duplicated", ...).
	Feed   *FeedAlterations
	Expect string
	// KeysFlushed is how many of the run's Redis keys data_loss deleted;
	// nil for other kinds.
	KeysFlushed *int64
	// BackendsTerminated are the PostgreSQL backend pids terminate ended;
	// nil for other kinds, empty when it found none.
	BackendsTerminated []int
	// LostAnswers are the ids of the requests whose answers a protocol
	// fault took away.
	LostAnswers []string

	// Landed is the verdict; Why says what decided it when nothing above
	// does already.
	Landed bool
	Why    string

	// Healed is true when the heal succeeded and the fault is shown gone;
	// HealErr is why not. HealRead is the read-back after the heal.
	Healed   bool
	HealErr  error
	HealRead string
	HealedAt time.Duration
	// healedAt is when the heal itself was done, before its checks; zero
	// means when Heal returned.
	healedAt time.Time
	// Early is true when the run ended before the fault's end, with Cause.
	Early bool
	Cause error
}

// Traffic is the platform's own bytes through a link during a fault, each
// way; the probes' are not counted.
type Traffic struct {
	Upstream, Downstream int64
}

// Total is both ways together.
func (t Traffic) Total() int64 { return t.Upstream + t.Downstream }

// String says what the link carried, e.g. "link carried 48.2 KiB upstream /
// 310.5 KiB downstream of the platform's own traffic during the fault".
func (t Traffic) String() string {
	if t.Total() == 0 {
		return "link carried none of the platform's own traffic during the fault"
	}
	return fmt.Sprintf("link carried %s upstream / %s downstream of the platform's own traffic during the fault",
		byteSize(t.Upstream), byteSize(t.Downstream))
}

// String writes the evidence in one line: what was done, what was read
// back, what the probes measured, what the family saw, the verdict and the
// heal.
func (e Evidence) String() string {
	if e.NotInjected != "" {
		return "not injected: " + e.NotInjected
	}
	var b strings.Builder
	b.WriteString(e.What)
	if e.Fault != "" {
		fmt.Fprintf(&b, " (%s)", e.Fault)
	}
	if e.InjectErr != nil {
		fmt.Fprintf(&b, ": injection at %s failed: %v; NOT landed", round(e.InjectedAt), e.InjectErr)
		return b.String()
	}
	if e.ReadBack != "" {
		b.WriteString("; " + e.ReadBack)
	}
	if e.Before != nil {
		fmt.Fprintf(&b, "; probe %s: %s before, ", e.Before.Probe, e.Before.Outcome())
		switch len(e.During) {
		case 0:
			b.WriteString("none during")
		case 1:
			fmt.Fprintf(&b, "%s during", e.During[0].Outcome())
		default:
			outs := make([]string, len(e.During))
			for i, r := range e.During {
				outs[i] = r.Outcome()
			}
			fmt.Fprintf(&b, "[%s] during (%d connections)", strings.Join(outs, ", "), len(e.During))
		}
		if e.After != nil {
			fmt.Fprintf(&b, ", %s after", e.After.Outcome())
		}
	}
	if e.Judged != "" {
		b.WriteString("; " + e.Judged)
	}
	if e.Traffic != nil {
		b.WriteString("; " + e.Traffic.String())
	}
	for _, p := range e.Process {
		b.WriteString("; " + describeEvent(p))
	}
	if e.Feed != nil {
		b.WriteString("; " + describeFeed(*e.Feed))
	}
	if e.KeysFlushed != nil {
		fmt.Fprintf(&b, "; %d keys flushed", *e.KeysFlushed)
	}
	if e.BackendsTerminated != nil {
		fmt.Fprintf(&b, "; %d backends terminated %v", len(e.BackendsTerminated), e.BackendsTerminated)
	}
	if len(e.LostAnswers) > 0 {
		fmt.Fprintf(&b, "; %d answers lost %v", len(e.LostAnswers), e.LostAnswers)
	}
	if e.Why != "" {
		b.WriteString("; " + e.Why)
	}
	if e.Landed {
		b.WriteString("; landed")
	} else {
		b.WriteString("; NOT landed")
	}
	switch {
	case e.HealErr != nil || !e.Healed:
		fmt.Fprintf(&b, "; heal failed: %v", e.HealErr)
	case e.Early:
		fmt.Fprintf(&b, "; healed early at %s, the run ended (%v)", round(e.HealedAt), e.Cause)
	case e.HealRead != "":
		fmt.Fprintf(&b, "; healed at %s (%s)", round(e.HealedAt), e.HealRead)
	default:
		fmt.Fprintf(&b, "; healed at %s", round(e.HealedAt))
	}
	return b.String()
}

// describeEvent says what a process event did: "kill pid 4242 (signal:
// killed)", "start pid 4300, ready in 1.2s", "pause pid 4242, state T
// (stopped)".
func describeEvent(p ProcessEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pid %d", p.Action, p.PID)
	if p.Exit != "" {
		fmt.Fprintf(&b, " (%s)", p.Exit)
	}
	if p.State != "" {
		fmt.Fprintf(&b, ", state %s", p.State)
	}
	if p.Ready > 0 {
		fmt.Fprintf(&b, ", ready in %s", round(p.Ready))
	}
	return b.String()
}

// describeFeed says what a feed fault did: "feed: 1200 messages, dropped
// 1200 (seqs 1, 2, 3)".
func describeFeed(a FeedAlterations) string {
	var b strings.Builder
	fmt.Fprintf(&b, "feed: %d messages", a.Messages)
	if len(a.Altered) == 0 {
		b.WriteString(", none altered")
	}
	for _, k := range slices.Sorted(maps.Keys(a.Altered)) {
		fmt.Fprintf(&b, ", %s %d", k, a.Altered[k])
	}
	if len(a.Seqs) > 0 {
		parts := make([]string, len(a.Seqs))
		for i, s := range a.Seqs {
			parts[i] = fmt.Sprint(s)
		}
		fmt.Fprintf(&b, " (seqs %s)", strings.Join(parts, ", "))
	}
	return b.String()
}

// byteSize prints a byte count in B, KiB, MiB or GiB, one decimal above B.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, prefix := float64(n)/unit, "KMGTPE"
	for i := 0; ; i++ {
		if v < unit || i == len(prefix)-1 {
			return fmt.Sprintf("%.1f %ciB", v, prefix[i])
		}
		v /= unit
	}
}

// notInjected explains a fault the run ended before.
func notInjected(ctx context.Context, f Fault) string {
	return fmt.Sprintf("the run ended (%v) before its time at %s", context.Cause(ctx), f.At)
}
