// Package scenarios holds the scenario spec and the runner that orchestrates
// one run: it is the one place that knows both the harness (replay, chaos,
// reports) and the reference platform, and wires them together.
package scenarios

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Spec is a scenario file as written (DESIGN.md, "Scenario YAML"). Durations
// and objectives stay strings here so that Load can report every bad value
// with its line, instead of stopping at the first one.
type Spec struct {
	Name        string       `yaml:"name"`
	Description string       `yaml:"description"`
	Seed        int64        `yaml:"seed"`
	Load        LoadSpec     `yaml:"load"`
	Platform    PlatformSpec `yaml:"platform"`
	Faults      FaultsSpec   `yaml:"faults"`
	SLOs        []SLOSpec    `yaml:"slos"`
	Reconcile   string       `yaml:"reconcile"`
	// Drain bounds the wait, after the load stops, for every resulted market
	// to settle (invariant 13). An extension of the DESIGN.md example.
	Drain string `yaml:"drain"`
}

// LoadSpec says what to replay and how fast.
type LoadSpec struct {
	Generate *GenerateSpec `yaml:"generate"`
	Capture  string        `yaml:"capture"`
	Speed    *float64      `yaml:"speed"`
	Headroom *float64      `yaml:"headroom"`
	// Workers caps requests in flight; an event due when none is free is
	// dropped and counted. MaxScheduleLag is the p99 send lag above which the
	// measurement is invalid (exit 5). Both are extensions with defaults.
	Workers        int    `yaml:"workers"`
	MaxScheduleLag string `yaml:"max_schedule_lag"`
	// QuoteSubscribers is how many clients watch the platform's quote
	// stream, for quote_latency and odds_staleness (default
	// DefaultQuoteSubscribers; 0 turns them off, and then a quote objective
	// is refused). A pointer, because 0 is a choice, not an omission.
	QuoteSubscribers *int `yaml:"quote_subscribers"`
	// Bettors overlays a seeded bettor population on the capture file
	// (replay/bettors): a vendor's recording has odds but no bets.
	Bettors *BettorsSpec `yaml:"bettors"`
}

// BettorsSpec is load.bettors: the population overlaid on load.capture.
// Pointers tell an absent key from a zero.
type BettorsSpec struct {
	Count     int            `yaml:"count"`     // bettors, required
	Seed      *int64         `yaml:"seed"`      // default: the scenario's seed
	Rate      float64        `yaml:"rate"`      // bets per bettor per in-play hour, required
	MaxStake  int64          `yaml:"max_stake"` // minor units, required
	PolicyMix *PolicyMixSpec `yaml:"policy_mix"`
	IDPrefix  *string        `yaml:"id_prefix"` // default DefaultBettorPrefix
}

// PolicyMixSpec is load.bettors.policy_mix: the percentage of bettors on
// each price policy; an absent key is 0, and the three sum to 100.
type PolicyMixSpec struct {
	Exact  int `yaml:"exact"`
	Better int `yaml:"better"`
	Any    int `yaml:"any"`
}

// GenerateSpec asks for a seeded synthetic capture instead of a file.
type GenerateSpec struct {
	Profile  string `yaml:"profile"`
	Matches  int    `yaml:"matches"`
	Bettors  int    `yaml:"bettors"`
	Duration string `yaml:"duration"`
	// Corrections ends each match with a result, its rollback and a
	// resettlement with a dead heat and/or a void factor
	// (synth.FootballOptions.Corrections). Off by default.
	Corrections bool `yaml:"corrections"`
}

// PlatformSpec holds reference-platform settings, in wall time.
type PlatformSpec struct {
	InPlayDelay string `yaml:"in_play_delay"`
	HoldBets    bool   `yaml:"hold_bets"`
	EventStore  bool   `yaml:"event_store"`
	MaxStake    int64  `yaml:"max_stake"`
}

// FaultSpec is one scheduled fault.
type FaultSpec struct {
	Name   string         `yaml:"name"`
	At     string         `yaml:"at"`
	For    string         `yaml:"for"`
	Target string         `yaml:"target"`
	Kind   string         `yaml:"kind"`
	Params map[string]any `yaml:"params"`
}

// FaultsSpec is the fault plan. It is written either as a list of faults,
// or as a mapping with a list (plan) and a seeded random plan (random),
// either or both:
//
//	faults:
//	  plan:
//	    - {name: redis-slow, at: 20s, for: 10s, target: redis, kind: latency, params: {latency: 200ms}}
//	  random: {seed: 7, count: 5, kinds: [latency, down, kill], min_for: 2s, max_for: 8s}
type FaultsSpec struct {
	Plan   []FaultSpec
	Random *RandomSpec
	// mapping is true when the plan was written as a mapping, so that its
	// faults are at faults.plan[i], not faults[i].
	mapping bool
}

// faultsMapping is FaultsSpec written as a mapping.
type faultsMapping struct {
	Plan   []FaultSpec `yaml:"plan"`
	Random *RandomSpec `yaml:"random"`
}

// UnmarshalYAML takes a list or a mapping.
func (f *FaultsSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var raw any
	if err := unmarshal(&raw); err != nil {
		return err
	}
	switch raw.(type) {
	case nil:
		return nil
	case []any:
		return unmarshal(&f.Plan)
	case map[string]any:
		var m faultsMapping
		if err := unmarshal(&m); err != nil {
			return err
		}
		f.Plan, f.Random, f.mapping = m.Plan, m.Random, true
		return nil
	}
	return errors.New("faults must be a list of faults, or a mapping with plan (a list of faults) and random")
}

// RandomSpec asks for a plan drawn from a seed (chaos.RandomPlan).
type RandomSpec struct {
	Seed    *int64   `yaml:"seed"`    // default: the scenario's seed
	Count   int      `yaml:"count"`   // required, 1 to chaos.MaxRandomFaults
	Kinds   []string `yaml:"kinds"`   // default: every kind the run can take
	Targets []string `yaml:"targets"` // default: every target the run has
	MinFor  string   `yaml:"min_for"` // default 1s
	MaxFor  string   `yaml:"max_for"` // default 10s
	From    string   `yaml:"from"`    // earliest start, default 0s
	Until   string   `yaml:"until"`   // latest heal; default the generated load's wall duration
}

// SLOSpec is one objective: a metric, an optional phase and exactly one
// statistic with its limit, e.g. {metric: bet_acceptance, p99: 250ms}.
// Its statistic keys are reports' statistic table (reports.Stats), one
// field each, so that strict decoding knows them; a test holds the two
// equal.
type SLOSpec struct {
	Metric string `yaml:"metric"`
	Phase  string `yaml:"phase"`
	P50    string `yaml:"p50"`
	P90    string `yaml:"p90"`
	P95    string `yaml:"p95"`
	P99    string `yaml:"p99"`
	P999   string `yaml:"p999"`
	Max    string `yaml:"max"`
}

// limits returns the value of each statistic key, by the key's name.
func (o SLOSpec) limits() map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(o)
	for i := range v.NumField() {
		switch key := v.Type().Field(i).Tag.Get("yaml"); key {
		case "metric", "phase":
		default:
			out[key] = v.Field(i).String()
		}
	}
	return out
}

// LoadFile reads and validates a scenario file. Relative paths in it (a
// capture file) are resolved against the file's folder. Every problem is
// returned at once, as an *herr.Error.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: path, Problems: []string{err.Error()}}
	}
	sc, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if sc.CapturePath != "" && !filepath.IsAbs(sc.CapturePath) {
		sc.CapturePath = filepath.Join(filepath.Dir(path), sc.CapturePath)
	}
	return sc, nil
}

// Parse decodes a scenario strictly and validates it. source names the input
// in messages.
func Parse(source string, data []byte) (*Scenario, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: source, Problems: []string{yaml.FormatError(err, false, false)}}
	}
	lines := map[string]int{}
	var problems []string
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: source, Problems: []string{"the file must hold exactly one YAML document, a mapping"}}
	}
	checkKeys(file.Docs[0].Body, reflect.TypeOf(Spec{}), "", lines, &problems)

	var spec Spec
	if err := yaml.UnmarshalWithOptions(data, &spec); err != nil {
		problems = append(problems, decodeProblem(err, lines))
		return nil, &herr.Error{Code: herr.EINPUT, Source: source, Problems: problems}
	}
	sc, errs := spec.resolve()
	for _, e := range errs {
		problems = append(problems, withLine(e, lines))
	}
	if len(problems) > 0 {
		sortByLine(problems)
		return nil, &herr.Error{Code: herr.EINPUT, Source: source, Problems: problems}
	}
	sc.Source = append([]byte(nil), data...)
	return sc, nil
}

// sortByLine orders problems as they appear in the file; those without a
// line keep their order, after the rest.
func sortByLine(problems []string) {
	lineOf := func(p string) int {
		rest, ok := strings.CutPrefix(p, "line ")
		if !ok {
			return math.MaxInt
		}
		digits, _, _ := strings.Cut(rest, ":")
		n, err := strconv.Atoi(digits)
		if err != nil {
			return math.MaxInt
		}
		return n
	}
	sort.SliceStable(problems, func(i, j int) bool { return lineOf(problems[i]) < lineOf(problems[j]) })
}

// fieldError is a validation problem at a path such as "load.speed" or
// "faults[0].at"; withLine turns the path into a line number.
type fieldError struct {
	path string
	msg  string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func errAt(path, format string, args ...any) error {
	return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
}

func withLine(err error, lines map[string]int) string {
	var fe *fieldError
	if !errors.As(err, &fe) {
		return err.Error()
	}
	if line, ok := lines[fe.path]; ok {
		return fmt.Sprintf("line %d: %s: %s", line, fe.path, fe.msg)
	}
	return fe.Error()
}

// decodeProblem rewrites the decoder's "[4:10] cannot unmarshal ..." as
// "line 4: load.speed: cannot unmarshal ...", naming the key at that line.
func decodeProblem(err error, lines map[string]int) string {
	msg := yaml.FormatError(err, false, false)
	rest, ok := strings.CutPrefix(msg, "[")
	if !ok {
		return msg
	}
	pos, text, ok := strings.Cut(rest, "] ")
	if !ok {
		return msg
	}
	ln, _, _ := strings.Cut(pos, ":")
	n, err2 := strconv.Atoi(ln)
	if err2 != nil {
		return msg
	}
	best := ""
	for path, l := range lines {
		if l == n && len(path) > len(best) {
			best = path
		}
	}
	if best != "" {
		return fmt.Sprintf("line %d: %s: %s", n, best, text)
	}
	return fmt.Sprintf("line %d: %s", n, text)
}

// checkKeys walks the YAML tree beside the Go type it decodes into, reports
// every key the type does not have (strict decoding that does not stop at
// the first unknown key), and records the line of every known path.
func checkKeys(node ast.Node, t reflect.Type, path string, lines map[string]int, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	node = unwrap(node)
	if node == nil {
		return
	}
	if t == reflect.TypeOf(FaultsSpec{}) {
		// A list of faults, or a mapping with plan and random.
		if _, isList := node.(*ast.SequenceNode); isList {
			t = reflect.TypeOf([]FaultSpec{})
		} else {
			t = reflect.TypeOf(faultsMapping{})
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		values := mappingValues(node)
		if values == nil {
			if _, isNull := node.(*ast.NullNode); !isNull {
				*problems = append(*problems, fmt.Sprintf("line %d: %s must be a mapping", line(node), displayPath(path)))
			}
			return
		}
		fields := yamlFields(t)
		for _, mv := range values {
			key := mv.Key.GetToken().Value
			child := key
			if path != "" {
				child = path + "." + key
			}
			f, ok := fields[key]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("line %d: unknown key %q in %s (known keys: %s)",
					line(mv.Key), key, displayPath(path), strings.Join(sortedKeys(fields), ", ")))
				continue
			}
			lines[child] = line(mv.Key)
			checkKeys(mv.Value, f.Type, child, lines, problems)
		}
	case reflect.Slice:
		seq, ok := node.(*ast.SequenceNode)
		if !ok {
			return // the decoder reports the type mismatch
		}
		for i, v := range seq.Values {
			child := fmt.Sprintf("%s[%d]", path, i)
			lines[child] = line(v)
			checkKeys(v, t.Elem(), child, lines, problems)
		}
	}
}

func unwrap(node ast.Node) ast.Node {
	for {
		switch n := node.(type) {
		case *ast.TagNode:
			node = n.Value
		case *ast.AnchorNode:
			node = n.Value
		case *ast.DocumentNode:
			node = n.Body
		default:
			return node
		}
	}
}

func mappingValues(node ast.Node) []*ast.MappingValueNode {
	switch n := node.(type) {
	case *ast.MappingNode:
		return n.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}
	}
	return nil
}

func line(n ast.Node) int {
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		return tok.Position.Line
	}
	return 0
}

func displayPath(path string) string {
	if path == "" {
		return "the scenario"
	}
	return path
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseDuration accepts Go durations ("250ms", "2s", "1m30s") and rejects
// bare numbers, whose unit would be a guess.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("%q has no unit (write e.g. %ss or %sms)", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 250ms, 2s, 1m30s)", s)
	}
	return d, nil
}
