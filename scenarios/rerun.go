package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goccy/go-yaml"

	"github.com/inplaylabs/inplay/chaos"
)

// Files a run writes so that it can be run again from its out dir
// (docs/contracts.md, "Files a run writes").
const (
	ScenarioFile = "scenario.yaml" // the scenario file, byte for byte
	PlanFile     = "plan.yaml"     // the fault plan that ran, random faults drawn
)

// Rerun is what plan.yaml holds: enough, with scenario.yaml, to run the same
// scenario again with the same load and the same faults.
type Rerun struct {
	// Capture is the capture file the run replayed, as an absolute path,
	// since scenario.yaml's own may be relative to a folder it is no longer
	// in; empty for a generated load.
	Capture string `yaml:"capture,omitempty"`
	Seed    int64  `yaml:"seed"`
	// RandomSeed is the seed of the scenario's random plan, when it had one.
	RandomSeed *int64 `yaml:"random_seed,omitempty"`
	// Faults is the plan that ran, in the scenario language: the
	// scenario's own faults, then the drawn ones.
	Faults []FaultYAML `yaml:"faults"`
}

// FaultYAML is one fault as a scenario writes it, with every value as the
// scenario language takes it back.
type FaultYAML struct {
	Name   string         `yaml:"name"`
	At     string         `yaml:"at"`
	For    string         `yaml:"for"`
	Target string         `yaml:"target"`
	Kind   string         `yaml:"kind"`
	Params map[string]any `yaml:"params,omitempty"`
}

func faultYAML(f chaos.Fault) FaultYAML {
	return FaultYAML{Name: f.Name, At: f.At.String(), For: f.For.String(), Target: f.Target, Kind: f.Kind, Params: f.Params}
}

// Fault is f in the chaos package's terms.
func (f FaultYAML) Fault() (chaos.Fault, error) {
	at, err := parseDuration(f.At)
	if err != nil {
		return chaos.Fault{}, fmt.Errorf("fault %s: at: %w", f.Name, err)
	}
	dur, err := parseDuration(f.For)
	if err != nil {
		return chaos.Fault{}, fmt.Errorf("fault %s: for: %w", f.Name, err)
	}
	return chaos.Fault{Name: f.Name, Target: f.Target, Kind: f.Kind, At: at, For: dur, Params: f.Params}, nil
}

const planHeader = "# The fault plan this run executed, random faults drawn, with what its\n" +
	"# scenario.yaml needs to run again the same way (inplay shrink reads it).\n"

// writeRerun writes scenario.yaml (when the scenario came from a file) and
// plan.yaml to dir, and returns the paths written. It runs before the load
// starts, so that a run that ends without a verdict can still be read.
func writeRerun(dir string, sc *Scenario, faults []chaos.Fault) ([]string, error) {
	var written []string
	if sc.Source != nil {
		path := filepath.Join(dir, ScenarioFile)
		if err := os.WriteFile(path, sc.Source, 0o644); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	rr := Rerun{Seed: sc.Seed, Faults: make([]FaultYAML, 0, len(faults))}
	if sc.CapturePath != "" {
		abs, err := filepath.Abs(sc.CapturePath)
		if err != nil {
			return nil, err
		}
		rr.Capture = abs
	}
	if sc.Random != nil {
		seed := sc.Random.Seed
		rr.RandomSeed = &seed
	}
	for _, f := range faults {
		rr.Faults = append(rr.Faults, faultYAML(f))
	}
	data, err := yaml.Marshal(rr)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, PlanFile)
	if err := os.WriteFile(path, append([]byte(planHeader), data...), 0o644); err != nil {
		return nil, err
	}
	return append(written, path), nil
}

// ReadRerun reads a run's out dir back: its scenario (from scenario.yaml,
// with the capture path plan.yaml recorded) and the fault plan that ran.
// The scenario keeps its faults as written; the caller sets the plan it
// wants to run.
func ReadRerun(dir string) (*Scenario, []chaos.Fault, error) {
	src, err := os.ReadFile(filepath.Join(dir, ScenarioFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s has no %s: the run was made before runs kept their scenario, or not from a scenario file", dir, ScenarioFile)
	}
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s has no %s: the run ended before its fault plan was drawn", dir, PlanFile)
	}
	if err != nil {
		return nil, nil, err
	}
	var rr Rerun
	if err := yaml.UnmarshalWithOptions(data, &rr, yaml.Strict()); err != nil {
		return nil, nil, fmt.Errorf("%s: %s", filepath.Join(dir, PlanFile), yaml.FormatError(err, false, false))
	}
	sc, err := Parse(filepath.Join(dir, ScenarioFile), src)
	if err != nil {
		return nil, nil, err
	}
	if sc.CapturePath != "" {
		if rr.Capture == "" {
			return nil, nil, fmt.Errorf("%s names no capture, and the scenario replays one", filepath.Join(dir, PlanFile))
		}
		sc.CapturePath = rr.Capture
	}
	plan := make([]chaos.Fault, 0, len(rr.Faults))
	for _, fy := range rr.Faults {
		f, err := fy.Fault()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, PlanFile), err)
		}
		plan = append(plan, f)
	}
	return sc, plan, nil
}
