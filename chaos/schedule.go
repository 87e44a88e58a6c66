package chaos

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Record is what became of one fault: when it was injected and healed, on
// the replay clock, and the evidence that it landed.
type Record struct {
	Name, Target, Kind   string
	InjectedAt, HealedAt time.Duration // offsets from start; HealedAt 0 with Healed=false if never healed
	// Injected is true once the toxic was added (or the link disabled);
	// false when the injection failed or the run ended first.
	Injected bool
	Healed   bool
	Landed   bool
	// TrafficBytes is what the platform itself sent and received through
	// the link between the injection and the heal, both ways together; the
	// probes are not counted. Where no probe can show the fault's effect
	// (bandwidth, slicer, limit_data, slow_close; any kind when the target
	// has only a connect probe), Landed requires it above 0.
	TrafficBytes int64
	Evidence     string // human-readable proof, with the numbers
}

// Schedule is a fault plan running on the replay clock.
type Schedule struct {
	done    chan struct{}
	records []Record
}

// Wait blocks until every fault has healed, or, once the Schedule's context
// is done, until every fault still injected has been healed early, and
// returns one Record per fault in the plan's order.
func (s *Schedule) Wait() []Record {
	<-s.done
	return slices.Clone(s.records)
}

// Probe timing. A probe is short and bounded: a local round trip takes well
// under a millisecond, so a second without an answer is a stall, not a slow
// reply. A delaying kind extends the during-probe by its own delay.
const (
	baselineTimeout = 500 * time.Millisecond // it delays the injection
	probeTimeout    = time.Second
	minDuringProbe  = 250 * time.Millisecond
	maxProbeTimeout = 30 * time.Second
)

// Schedule runs the plan on the replay clock and returns at once: each fault
// is injected at start+At and healed at start+At+For, with a baseline probe
// just before, a probe during and a probe after, and the platform's traffic
// through the link counted from the injection to the heal. start is the
// replay's zero; it may be in the future. When ctx is done, faults not yet
// injected are not injected, and those injected are healed at once. The
// times recorded are the real ones: a heal waits for the probe during the
// fault, so with a For shorter than a probe, HealedAt can pass At+For by up
// to that probe.
//
// The plan should have passed ValidateFaults; a fault that does not is not
// injected, and its Record says why.
func (l *Layer) Schedule(ctx context.Context, faults []Fault, start time.Time) *Schedule {
	return schedule(ctx, faults, start, func(f Fault, k Kind) (faultOps, error) {
		hop, ok := l.link(f.Target)
		if !ok {
			return nil, errorf(ENOTFOUND, "target %s has no chaos link (linked: %s)", f.Target, orNone(l.Links()))
		}
		return &linkOps{
			layer:  l,
			target: f.Target,
			link:   hop,
			kind:   k,
			name:   fmt.Sprintf("%s_%d", toxicSafe.ReplaceAllString(f.Name, "_"), l.seq.Add(1)),
			prober: proberFor(f.Target),
		}, nil
	})
}

// toxicSafe matches what may not appear in a toxic's name, which goes into
// the API's URL paths.
var toxicSafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// faultOps is what one fault does to its link. The schedule decides when;
// linkOps does it through toxiproxy. The split keeps the timing testable on
// virtual time, where toxiproxy's sockets cannot go.
type faultOps interface {
	inject() error
	heal() error
	inPlace() (bool, string, error)
	probe(ctx context.Context) ProbeResult
	// traffic returns the platform's bytes through the link so far, each
	// way; the probes' are not among them.
	traffic() (upstream, downstream int64)
	what() string // e.g. "toxic redis-slow_1 on link redis"
}

// schedule starts one goroutine per fault; opsFor binds a fault to its link.
func schedule(ctx context.Context, faults []Fault, start time.Time, opsFor func(Fault, Kind) (faultOps, error)) *Schedule {
	s := &Schedule{done: make(chan struct{}), records: make([]Record, len(faults))}
	remaining := make(chan struct{}, len(faults))
	for i, f := range faults {
		go func() {
			s.records[i] = runFault(ctx, f, start, opsFor)
			remaining <- struct{}{}
		}()
	}
	go func() {
		for range faults {
			<-remaining
		}
		close(s.done)
	}()
	return s
}

// runFault takes one fault through baseline, injection, proof, heal and
// after-probe, and writes down what happened.
func runFault(ctx context.Context, f Fault, start time.Time, opsFor func(Fault, Kind) (faultOps, error)) Record {
	rec := Record{Name: f.Name, Target: f.Target, Kind: f.Kind}
	k, ok := newKind(f.Kind)
	if !ok {
		rec.Evidence = fmt.Sprintf("not injected: kind %q is unknown", f.Kind)
		return rec
	}
	p := NewParams(f.Params)
	k.Configure(p)
	if problems := p.Problems(); len(problems) > 0 {
		rec.Evidence = "not injected: " + strings.Join(problems, "; ")
		return rec
	}
	if f.At < 0 || f.For < 0 {
		rec.Evidence = fmt.Sprintf("not injected: at %s and for %s must not be negative", f.At, f.For)
		return rec
	}
	ops, err := opsFor(f, k)
	if err != nil {
		rec.Evidence = "not injected: " + err.Error()
		return rec
	}

	// Probes outlive ctx: once a fault is on, the heal and the probe after it
	// must still happen, and each probe is bounded by its own timeout.
	probeCtx := context.WithoutCancel(ctx)
	duringTimeout := probeTimeouts(k, f.For)

	// The baseline is taken just before the injection, not earlier: an
	// earlier one could fall inside another fault on the same link and
	// hide this one's effect. Its short timeout bounds how late a stalled
	// baseline can make the injection; InjectedAt records the real time.
	if !sleepUntil(ctx, start.Add(f.At)) {
		rec.Evidence = notInjected(ctx, f)
		return rec
	}
	before := probeWithin(probeCtx, ops, baselineTimeout)

	rec.InjectedAt = time.Since(start)
	if err := ops.inject(); err != nil {
		rec.Evidence = fmt.Sprintf("%s (%s): injection at %s failed: %v; NOT landed", ops.what(), k, round(rec.InjectedAt), err)
		rec.InjectedAt = 0 // it never was
		// Nothing was injected, so nothing is healed; the heal only makes
		// sure no half-applied state lingers, and its error is expected.
		_ = ops.heal()
		return rec
	}
	rec.Injected = true
	up0, down0 := ops.traffic()
	present, readBack, err := ops.inPlace()
	if err != nil {
		readBack = fmt.Sprintf("read-back failed: %v", err)
	}

	attempts := 1
	if a, ok := k.(attemptser); ok {
		attempts = a.attempts()
	}
	var during []ProbeResult
	effect, judged := EffectNotShown, ""
	for range attempts {
		r := probeWithin(probeCtx, ops, duringTimeout)
		during = append(during, r)
		if effect, judged = k.Judge(before, r); effect != EffectNotShown {
			break
		}
	}

	early := !sleepUntil(ctx, start.Add(f.At+f.For))
	up1, down1 := ops.traffic()
	flow := traffic{upstream: up1 - up0, downstream: down1 - down0}
	rec.TrafficBytes = flow.upstream + flow.downstream
	healErr := ops.heal()
	rec.HealedAt = time.Since(start)
	stillThere, healRead, err := ops.inPlace()
	if err != nil {
		healRead = fmt.Sprintf("read-back failed: %v", err)
	}
	rec.Healed = healErr == nil && err == nil && !stillThere
	if !rec.Healed {
		rec.HealedAt = 0
	}
	after := probeWithin(probeCtx, ops, probeTimeout)

	// Where no probe can show the effect, the read-back alone would only
	// prove the toxic was there; the platform's own bytes through the link
	// prove something crossed it.
	rec.Landed = present && (effect == EffectShown || (effect == EffectUnobservable && rec.TrafficBytes > 0))
	rec.Evidence = evidence(ops, k, readBack, before, during, after, judged, flow, effect, rec, early, context.Cause(ctx), healErr, healRead)
	return rec
}

// traffic is the platform's bytes through a link during a fault.
type traffic struct {
	upstream, downstream int64
}

// String says what the link carried, e.g. "link carried 48.2 KiB upstream /
// 310.5 KiB downstream of the platform's own traffic during the fault".
func (t traffic) String() string {
	if t.upstream+t.downstream == 0 {
		return "link carried none of the platform's own traffic during the fault"
	}
	return fmt.Sprintf("link carried %s upstream / %s downstream of the platform's own traffic during the fault",
		byteSize(t.upstream), byteSize(t.downstream))
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

// probeTimeouts returns the timeout of the probes during the fault: they
// wait out a delaying kind's delay, but not much past the fault's end, so
// the heal is not held up.
func probeTimeouts(k Kind, dur time.Duration) time.Duration {
	during := probeTimeout
	if d, ok := k.(delayer); ok {
		during += d.addedDelay()
	}
	return min(during, max(dur, minDuringProbe), maxProbeTimeout)
}

// probeWithin runs one probe bounded by timeout.
func probeWithin(ctx context.Context, ops faultOps, timeout time.Duration) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return ops.probe(ctx)
}

// sleepUntil waits until t or ctx is done, and reports whether t came first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// notInjected explains a fault the run ended before.
func notInjected(ctx context.Context, f Fault) string {
	return fmt.Sprintf("not injected: the run ended (%v) before its time at %s", context.Cause(ctx), f.At)
}

// evidence writes the proof in one line: what was done, what the API read
// back, what the probes measured, and the verdict with its numbers.
func evidence(ops faultOps, k Kind, readBack string, before ProbeResult, during []ProbeResult, after ProbeResult,
	judged string, flow traffic, effect Effect, rec Record, early bool, cause, healErr error, healRead string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s); API: %s; probe %s: %s before, ", ops.what(), k, readBack, before.Probe, before.Outcome())
	if len(during) == 1 {
		fmt.Fprintf(&b, "%s during", during[0].Outcome())
	} else {
		outs := make([]string, len(during))
		for i, r := range during {
			outs[i] = r.Outcome()
		}
		fmt.Fprintf(&b, "[%s] during (%d connections)", strings.Join(outs, ", "), len(during))
	}
	fmt.Fprintf(&b, ", %s after; %s; %s", after.Outcome(), judged, flow)
	switch {
	case effect == EffectUnobservable && rec.TrafficBytes == 0:
		b.WriteString("; nothing shows the fault was crossed; NOT landed")
	case rec.Landed:
		b.WriteString("; landed")
	default:
		b.WriteString("; NOT landed")
	}
	switch {
	case healErr != nil:
		fmt.Fprintf(&b, "; heal failed: %v", healErr)
	case !rec.Healed:
		fmt.Fprintf(&b, "; still in place after heal: %s", healRead)
	case early:
		fmt.Fprintf(&b, "; healed early at %s, the run ended (%v)", round(rec.HealedAt), cause)
	default:
		fmt.Fprintf(&b, "; healed at %s (%s)", round(rec.HealedAt), healRead)
	}
	return b.String()
}

// linkOps does a fault's actions on a Layer's link.
type linkOps struct {
	layer  *Layer
	target string
	link   *link
	kind   Kind
	name   string
	prober Prober
}

// inject closes the link's front first for a kind that takes the link down,
// so that the platform's new connections are refused from the moment the
// proxy is disabled.
func (o *linkOps) inject() error {
	if _, ok := o.kind.(linkDisabler); ok {
		o.link.front.stop()
	}
	return o.layer.withProxy(o.target, func(p *toxiclient.Proxy) error { return o.kind.Inject(p, o.name) })
}

// heal opens the link's front again once the proxy is back up.
func (o *linkOps) heal() error {
	err := o.layer.withProxy(o.target, func(p *toxiclient.Proxy) error { return o.kind.Heal(p, o.name) })
	if _, ok := o.kind.(linkDisabler); ok && err == nil {
		err = o.link.front.start()
	}
	return err
}

func (o *linkOps) inPlace() (present bool, read string, err error) {
	err = o.layer.withProxy(o.target, func(p *toxiclient.Proxy) error {
		present, read, err = o.kind.InPlace(p, o.name)
		return err
	})
	return present, read, err
}

// probe dials the proxy, not the front, so its bytes are not counted as the
// platform's.
func (o *linkOps) probe(ctx context.Context) ProbeResult {
	return o.prober.Probe(ctx, o.link.proxy)
}

func (o *linkOps) traffic() (upstream, downstream int64) {
	return o.link.front.traffic()
}

func (o *linkOps) what() string {
	if _, ok := o.kind.(*Down); ok {
		return "link " + o.target + " down"
	}
	return fmt.Sprintf("toxic %s on link %s", o.name, o.target)
}
