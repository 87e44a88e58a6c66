package chaos

import (
	"context"
	"fmt"
	"sync"

	"github.com/inplaylabs/inplay/internal/herr"
)

func init() {
	RegisterKind("ack_lost", func(p *Params) Kind {
		return &AckLost{every: int(p.IntOr("every", 10, 1, 1_000_000))}
	})
}

// AckLost is the protocol fault ack_lost on the api link: one answer in every
// (param every, default 10) reaches the harness whole and is then lost,
// with its connection, so the platform has done what it did (a bet it
// accepted is committed) and the harness does not know. Reconciliation
// must resolve each such unknown outcome to present once or absent. It
// acts through the run's Answers control (control.go), at the harness's end
// of the api link. It landed when at least one answer was lost; the
// evidence lists their ids.
type AckLost struct {
	every int
}

// checkTarget: the api link only, when the run can lose answers.
func (k *AckLost) checkTarget(target string, r Reach) *herr.Error {
	if target != "api" {
		return inputf("kind ack_lost acts on the api link only, not %s", target)
	}
	if !r.Answers {
		return inputf("kind ack_lost needs the harness's end of the api link, and this run has none")
	}
	return nil
}

// sampleParams draws the params for a random plan.
func (k *AckLost) sampleParams(r *rng) map[string]any {
	return map[string]any{"every": r.between(1, 20)}
}

// Inject starts losing answers.
func (k *AckLost) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	ev := &Evidence{What: "answers lost on the api link"}
	inj := Injection{Evidence: ev}
	if env.Answers == nil {
		return inj, inputf("kind ack_lost needs the harness's end of the api link, and this run has none")
	}
	end, err := env.Answers.StartAckLoss(ctx, k.every)
	if err != nil {
		return inj, err
	}
	var (
		once sync.Once
		lost AnswersLost
	)
	inj.Heal = func(context.Context) error {
		once.Do(func() {
			lost = end()
			ev.LostAnswers = lost.Lost
		})
		return nil
	}
	inj.Landed = func() (bool, string) {
		if len(lost.Lost) == 0 {
			return false, fmt.Sprintf("no answer was lost (%d requests while it was on)", lost.Requests)
		}
		return true, ""
	}
	return inj, nil
}

// String describes the fault.
func (k *AckLost) String() string {
	if k.every > 1 {
		return fmt.Sprintf("ack_lost: 1 answer in %d lost after it arrived", k.every)
	}
	return "ack_lost: every answer lost after it arrived"
}
