package chaos

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// This file is the network family: the faults put on a Layer's link (every
// toxiproxy toxic, and down). They share one way to be injected and proved
// (injectLink): a baseline probe through the link just before, the fault
// added through the toxiproxy API and read back from it, probes through the
// link during the fault judged against the baseline, the platform's own
// bytes through the link counted, and after the heal a read-back and one
// more probe. Each kind says only how it goes on and off a proxy, how it is
// read back, and how a probe shows it (netKind).

// netKind is a kind of the network family. Its Inject calls onLink.
type netKind interface {
	Kind
	// apply puts the fault on proxy. name is unique in the layer; kinds
	// that add a toxic use it as the toxic's name.
	apply(proxy *toxiclient.Proxy, name string) error
	// remove takes the fault injected under name off proxy.
	remove(proxy *toxiclient.Proxy, name string) error
	// inPlace reads proxy back through the API and reports whether the
	// fault injected under name is in place, with what was read.
	inPlace(proxy *toxiclient.Proxy, name string) (bool, string, error)
	// judge compares a probe taken during the fault with the baseline taken
	// just before it, and says whether the fault's effect shows.
	judge(before, during ProbeResult) (Effect, string)
	// String describes the configured fault for the evidence, e.g.
	// "latency 200ms±20ms, downstream, toxicity 1".
	String() string
}

// Effect is what a network kind concludes from its probes.
type Effect int

// The effects a network kind can conclude.
const (
	// EffectShown: the probe shows the fault's effect.
	EffectShown Effect = iota
	// EffectNotShown: the probe could show the effect and does not.
	EffectNotShown
	// EffectUnobservable: this probe cannot show this kind of effect (for
	// example bandwidth on a one-line exchange, or latency on a connect-only
	// probe). The API read-back must then be joined by the platform's own
	// traffic through the link during the fault (Record.TrafficBytes > 0).
	EffectUnobservable
)

// The optional abilities of a network kind.
type (
	// attemptser is a kind whose effect a single new connection may miss
	// (toxicity below 1 is drawn per connection; wide jitter): it asks for
	// up to that many probe connections during the fault.
	attemptser interface {
		attempts() int
	}
	// delayer is a kind that delays answers on purpose, so its probes need
	// that much longer before they count as stalled.
	delayer interface {
		addedDelay() time.Duration
	}
	// latencier is a kind judged on how much longer the round trip is
	// than the baseline's: its baseline is the fastest of several probes.
	latencier interface {
		baselineProbes() int
	}
	// linkDisabler is a kind that takes the whole link down: the link's
	// front, where the platform dials, closes with the proxy and opens
	// after it.
	linkDisabler interface {
		disablesLink()
	}
)

// Probe timing. A probe is short and bounded: a local round trip takes well
// under a millisecond, so a second without an answer is a stall, not a slow
// reply. A delaying kind extends the during-probe by its own delay.
const (
	baselineTimeout = 500 * time.Millisecond // it delays the injection
	probeTimeout    = time.Second
	minDuringProbe  = 250 * time.Millisecond
	maxProbeTimeout = 30 * time.Second
)

// onLink injects a network kind on the link of f's target in env's Layer.
func onLink(ctx context.Context, env Env, f Fault, k netKind) (Injection, error) {
	if env.Layer == nil {
		return Injection{}, inputf("target %s: the run has no chaos layer", f.Target)
	}
	ops, err := env.Layer.ops(f, k)
	if err != nil {
		return Injection{}, err
	}
	return injectLink(ctx, ops, f, k)
}

// faultOps is what one fault does to its link. injectLink decides the steps;
// linkOps does them through toxiproxy. The split keeps the family's proof
// testable on virtual time, where toxiproxy's sockets cannot go.
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

// injectLink takes a baseline probe, injects the fault, and returns how to
// prove it (API read-back and probes during) and heal it (heal, read-back,
// probe after), with the platform's traffic through the link counted from
// the injection to the heal.
//
// The baseline is taken just before the injection, not earlier: an earlier
// one could fall inside another fault on the same link and hide this one's
// effect. Its short timeout bounds how late a stalled baseline can make the
// injection; the Injection's At records the real time.
func injectLink(ctx context.Context, ops faultOps, f Fault, k netKind) (Injection, error) {
	ev := &Evidence{What: ops.what(), Fault: k.String()}
	before := baseline(ctx, ops, k)
	ev.Before = &before
	inj := Injection{At: time.Now(), Evidence: ev}
	if err := ops.inject(); err != nil {
		// Nothing was injected, so nothing is healed; the heal only makes
		// sure no half-applied state lingers, and its error is expected.
		_ = ops.heal()
		return inj, err
	}
	up0, down0 := ops.traffic()

	present, effect := false, EffectNotShown
	duringTimeout := probeTimeouts(k, f.For)
	inj.Prove = func(ctx context.Context) {
		ok, read, err := ops.inPlace()
		if err != nil {
			read = fmt.Sprintf("read-back failed: %v", err)
		}
		present, ev.ReadBack = ok, "API: "+read
		attempts := 1
		if a, ok := k.(attemptser); ok {
			attempts = a.attempts()
		}
		for range attempts {
			r := probeWithin(ctx, ops, duringTimeout)
			ev.During = append(ev.During, r)
			if effect, ev.Judged = k.judge(before, r); effect != EffectNotShown {
				break
			}
		}
	}
	inj.Heal = func(ctx context.Context) error {
		up1, down1 := ops.traffic()
		ev.Traffic = &Traffic{Upstream: up1 - up0, Downstream: down1 - down0}
		healErr := ops.heal()
		ev.healedAt = time.Now()
		still, read, err := ops.inPlace()
		if err != nil {
			read = fmt.Sprintf("read-back failed: %v", err)
		}
		ev.HealRead = read
		after := probeWithin(ctx, ops, probeTimeout)
		ev.After = &after
		switch {
		case healErr != nil:
			return healErr
		case err != nil:
			return fmt.Errorf("cannot read the link back after the heal: %w", err)
		case still:
			return fmt.Errorf("still in place after heal: %s", read)
		}
		return nil
	}
	// Where no probe can show the effect, the read-back alone would only
	// prove the toxic was there; the platform's own bytes through the link
	// prove something crossed it.
	inj.Landed = func() (bool, string) {
		crossed := ev.Traffic != nil && ev.Traffic.Total() > 0
		if effect == EffectUnobservable && !crossed {
			return false, "nothing shows the fault was crossed"
		}
		return present && (effect == EffectShown || effect == EffectUnobservable), ""
	}
	return inj, nil
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

// baseline takes the probe the fault is judged against. A kind judged on
// the round trip's length (latencier) takes several and keeps the fastest
// answer: a shared machine can stall one probe for milliseconds (CI saw a
// 7.1ms baseline on a link that answers in 0.65ms, which hid a 10ms
// latency), and noise only ever adds time, so the minimum is the honest
// floor. All of them share baselineTimeout, so a stalled link delays the
// injection no longer than one probe would.
func baseline(ctx context.Context, ops faultOps, k netKind) ProbeResult {
	n := 1
	if b, ok := k.(latencier); ok {
		n = b.baselineProbes()
	}
	ctx, cancel := context.WithTimeout(ctx, baselineTimeout)
	defer cancel()
	best := ops.probe(ctx)
	for i := 1; i < n && best.OK() && ctx.Err() == nil; i++ {
		if r := ops.probe(ctx); r.OK() && r.RTT < best.RTT {
			best = r
		}
	}
	return best
}

// probeWithin runs one probe bounded by timeout.
func probeWithin(ctx context.Context, ops faultOps, timeout time.Duration) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return ops.probe(ctx)
}

// linkTarget is the target rule of the network family: a link the run has.
func linkTarget(kind, target string, r Reach) *herr.Error {
	if !slices.Contains(LinkTargets, target) {
		return inputf("kind %s acts on a link, and %s is not one; use one of %s", kind, target, strings.Join(LinkTargets, ", "))
	}
	if !slices.Contains(r.Links, target) {
		return inputf("target %s has no chaos link in this run (linked: %s)", target, orNone(r.Links))
	}
	return nil
}

// ops binds a fault to the link of its target.
func (l *Layer) ops(f Fault, k netKind) (faultOps, error) {
	hop, ok := l.link(f.Target)
	if !ok {
		return nil, inputf("target %s has no chaos link (linked: %s)", f.Target, orNone(l.Links()))
	}
	return &linkOps{
		layer:  l,
		target: f.Target,
		link:   hop,
		kind:   k,
		name:   fmt.Sprintf("%s_%d", toxicSafe.ReplaceAllString(f.Name, "_"), l.seq.Add(1)),
		prober: proberFor(f.Target),
	}, nil
}

// toxicSafe matches what may not appear in a toxic's name, which goes into
// the API's URL paths.
var toxicSafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// linkOps does a fault's actions on a Layer's link.
type linkOps struct {
	layer  *Layer
	target string
	link   *link
	kind   netKind
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
	return o.layer.withProxy(o.target, func(p *toxiclient.Proxy) error { return o.kind.apply(p, o.name) })
}

// heal opens the link's front again once the proxy is back up.
func (o *linkOps) heal() error {
	err := o.layer.withProxy(o.target, func(p *toxiclient.Proxy) error { return o.kind.remove(p, o.name) })
	if _, ok := o.kind.(linkDisabler); ok && err == nil {
		err = o.link.front.start()
	}
	return err
}

func (o *linkOps) inPlace() (present bool, read string, err error) {
	err = o.layer.withProxy(o.target, func(p *toxiclient.Proxy) error {
		present, read, err = o.kind.inPlace(p, o.name)
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
	if _, ok := o.kind.(linkDisabler); ok {
		return "link " + o.target + " down"
	}
	return fmt.Sprintf("toxic %s on link %s", o.name, o.target)
}

// toxic is what every kind made of one toxiproxy toxic shares: the toxic's
// type, the direction it acts on and its toxicity, and how it is added,
// read back and removed. Kinds embed it and add their own attributes.
type toxic struct {
	typ      string
	stream   string
	toxicity float64
	attrs    toxiclient.Attributes
}

// configure reads the params every toxic takes.
func (t *toxic) configure(p *Params) {
	t.stream = p.ChoiceOr("stream", "downstream", "downstream", "upstream")
	// 0 is refused: a toxic that never applies is not a fault, and the
	// platform's traffic through it would prove nothing.
	t.toxicity = p.FloatOr("toxicity", 1, 0, 1, true)
}

// checkTarget: a toxic acts on a link.
func (t *toxic) checkTarget(target string, r Reach) *herr.Error {
	return linkTarget(t.typ, target, r)
}

// apply adds the toxic to proxy under name.
func (t *toxic) apply(proxy *toxiclient.Proxy, name string) error {
	_, err := proxy.AddToxic(name, t.typ, t.stream, float32(t.toxicity), t.attrs)
	return err
}

// remove removes the toxic named name from proxy.
func (t *toxic) remove(proxy *toxiclient.Proxy, name string) error {
	return proxy.RemoveToxic(name)
}

// inPlace lists proxy's toxics through the API and checks that the one named
// name has the type, stream, toxicity and attributes that were asked for.
func (t *toxic) inPlace(proxy *toxiclient.Proxy, name string) (bool, string, error) {
	list, err := proxy.Toxics()
	if err != nil {
		return false, "", err
	}
	for _, got := range list {
		if got.Name != name {
			continue
		}
		var diffs []string
		if got.Type != t.typ {
			diffs = append(diffs, fmt.Sprintf("type %s", got.Type))
		}
		if got.Stream != t.stream {
			diffs = append(diffs, fmt.Sprintf("stream %s", got.Stream))
		}
		if math.Abs(float64(got.Toxicity)-t.toxicity) > 1e-6 {
			diffs = append(diffs, fmt.Sprintf("toxicity %g", got.Toxicity))
		}
		for _, k := range slices.Sorted(maps.Keys(t.attrs)) {
			want, _ := number(t.attrs[k])
			have, ok := number(got.Attributes[k])
			if !ok || have != want {
				diffs = append(diffs, fmt.Sprintf("%s=%v", k, got.Attributes[k]))
			}
		}
		if len(diffs) > 0 {
			return false, fmt.Sprintf("toxic %s present but differs: %s", name, strings.Join(diffs, ", ")), nil
		}
		return true, fmt.Sprintf("toxic %s present (%s %s, toxicity %g, %s)",
			name, got.Type, got.Stream, got.Toxicity, formatAttrs(got.Attributes)), nil
	}
	return false, fmt.Sprintf("toxic %s absent", name), nil
}

// judge is the default for toxics whose effect a short request/answer probe
// cannot show (bandwidth, slicer, limit_data, slow_close): the API read-back
// and the platform's own traffic through the link decide, and the probe
// results are only recorded.
func (t *toxic) judge(before, during ProbeResult) (Effect, string) {
	return EffectUnobservable, fmt.Sprintf("a %s toxic does not show on a one-exchange probe; the API read-back and the link's traffic decide", t.typ)
}

// attempts asks for several probe connections when toxicity is below 1,
// because toxiproxy draws the toxicity once per connection.
func (t *toxic) attempts() int {
	if t.toxicity < 1 {
		return 5
	}
	return 1
}

// common describes the stream and toxicity for String.
func (t *toxic) common() string {
	return fmt.Sprintf("%s, toxicity %g", t.stream, t.toxicity)
}

// formatAttrs prints attributes in a stable order.
func formatAttrs(a toxiclient.Attributes) string {
	keys := slices.Sorted(maps.Keys(a))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, a[k])
	}
	return strings.Join(parts, " ")
}

// ms converts a duration to the whole milliseconds toxiproxy takes.
func ms(d time.Duration) int64 {
	return int64(d / time.Millisecond)
}

// failedOrStalled is the judgement shared by the kinds that break a
// connection (timeout, reset_peer, down): the probe during the fault must
// fail or stall, after a baseline that succeeded. A fault that only breaks
// data in flight needs a probe that waits for an answer (needsRoundTrip); a
// connect-only probe cannot see it.
func failedOrStalled(before, during ProbeResult, needsRoundTrip bool) (Effect, string) {
	if needsRoundTrip && !during.RoundTrip {
		return EffectUnobservable, fmt.Sprintf("the %s probe does not wait for an answer; the API read-back and the link's traffic decide", during.Probe)
	}
	if !before.OK() {
		return EffectNotShown, "cannot attribute the failure: the baseline probe failed too"
	}
	if during.OK() {
		return EffectNotShown, "the probe still answered during the fault"
	}
	return EffectShown, "answered before, not during"
}
