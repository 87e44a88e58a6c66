package scenarios

import (
	"github.com/inplaylabs/inplay/internal/herr"
	"github.com/inplaylabs/inplay/replay"
)

// LoadPlan loads or generates sc's capture and plans it with sc's speed,
// headroom and seed, exactly as a run does in step 5, without running
// anything: for tools that replay the plan another way (inplay k6
// export). A bad capture or plan is an *herr.Error (exit 3).
func LoadPlan(sc *Scenario) (*replay.Plan, error) {
	s, done, err := openCapture(sc, replay.AllProblems())
	if err != nil {
		return nil, err
	}
	defer done()
	capture, err := replay.Collect(s)
	if err != nil {
		return nil, captureInputError(sc, err)
	}
	plan, err := replay.NewPlan(capture, replay.PlanOptions{Speed: sc.Speed, Headroom: sc.Headroom, Seed: sc.Seed})
	if err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "capture", Problems: []string{err.Error()}}
	}
	return plan, nil
}
