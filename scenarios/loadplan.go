package scenarios

import "github.com/inplaylabs/inplay/replay"

// LoadPlan loads or generates sc's capture and plans it with sc's speed,
// headroom and seed, exactly as a run does in step 5, without running
// anything: for tools that replay the plan another way (inplay k6
// export). A bad capture or plan is an *InputError (exit 3).
func LoadPlan(sc *Scenario) (*replay.Plan, error) {
	capture, _, err := loadCapture(sc)
	if err != nil {
		return nil, err
	}
	plan, err := replay.NewPlan(capture, replay.PlanOptions{Speed: sc.Speed, Headroom: sc.Headroom, Seed: sc.Seed})
	if err != nil {
		return nil, &InputError{Source: "capture", Problems: []string{err.Error()}}
	}
	return plan, nil
}
