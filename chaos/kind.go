package chaos

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Kind is one kind of fault: a struct whose fields are its parameters. A new
// value is made for every fault (see RegisterKind), configured from the
// fault's params, then used to inject the fault on one link and to heal it.
//
// Every method that takes a proxy gets one freshly read from the toxiproxy
// API, so what it sees is toxiproxy's state, not a cached copy.
type Kind interface {
	// Configure sets the kind's fields from p. It reads every param the kind
	// knows; p keeps the problems and reports the params nobody read.
	Configure(p *Params)
	// Inject puts the fault on proxy. name is unique in the layer; kinds that
	// add a toxic use it as the toxic's name.
	Inject(proxy *toxiclient.Proxy, name string) error
	// Heal takes the fault injected under name off proxy.
	Heal(proxy *toxiclient.Proxy, name string) error
	// InPlace reads proxy back through the API and reports whether the fault
	// injected under name is in place, with what was read, for the evidence.
	InPlace(proxy *toxiclient.Proxy, name string) (bool, string, error)
	// Judge compares a probe taken during the fault with the baseline taken
	// just before it, and says whether the fault's effect shows.
	Judge(before, during ProbeResult) (Effect, string)
	// String describes the configured fault for the evidence, e.g.
	// "latency 200ms±20ms, downstream, toxicity 1".
	String() string
}

// Effect is what a Kind concludes from its probes.
type Effect int

// The effects a Kind can conclude.
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

// attemptser is a kind whose effect a single new connection may miss
// (toxicity below 1 is drawn per connection; wide jitter): it asks for up to
// that many probe connections during the fault.
type attemptser interface {
	attempts() int
}

// delayer is a kind that delays answers on purpose, so its probes need that
// much longer before they count as stalled.
type delayer interface {
	addedDelay() time.Duration
}

// exclusive is a kind that cannot overlap itself on one link: two "down"
// faults would re-enable the link when the first heals.
type exclusive interface {
	exclusive()
}

// linkDisabler is a kind that takes the whole link down: the link's front,
// where the platform dials, closes with the proxy and opens after it.
type linkDisabler interface {
	disablesLink()
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]func() Kind{}
)

// RegisterKind makes a fault kind available under name. newKind returns a
// fresh, unconfigured value. Registering the same name twice panics: two
// kinds answering to one name would make a scenario mean two things.
func RegisterKind(name string, newKind func() Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[name]; dup {
		panic(fmt.Sprintf("chaos: fault kind %q registered twice", name))
	}
	kinds[name] = newKind
}

// Kinds returns the names of the registered fault kinds, sorted.
func Kinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	return slices.Sorted(maps.Keys(kinds))
}

// newKind returns a fresh value of the kind registered under name.
func newKind(name string) (Kind, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	f, ok := kinds[name]
	if !ok {
		return nil, false
	}
	return f(), true
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

// Inject adds the toxic to proxy under name.
func (t *toxic) Inject(proxy *toxiclient.Proxy, name string) error {
	_, err := proxy.AddToxic(name, t.typ, t.stream, float32(t.toxicity), t.attrs)
	return err
}

// Heal removes the toxic named name from proxy.
func (t *toxic) Heal(proxy *toxiclient.Proxy, name string) error {
	return proxy.RemoveToxic(name)
}

// InPlace lists proxy's toxics through the API and checks that the one named
// name has the type, stream, toxicity and attributes that were asked for.
func (t *toxic) InPlace(proxy *toxiclient.Proxy, name string) (bool, string, error) {
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

// Judge is the default for toxics whose effect a short request/answer probe
// cannot show (bandwidth, slicer, limit_data, slow_close): the API read-back
// and the platform's own traffic through the link decide, and the probe
// results are only recorded.
func (t *toxic) Judge(before, during ProbeResult) (Effect, string) {
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
