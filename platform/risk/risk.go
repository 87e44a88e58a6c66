// Package risk holds the platform's risk rules. The reference platform has
// one: a maximum stake per bet.
package risk

import "github.com/inplaylabs/inplay/platform"

// Limits are the risk limits applied to every bet.
type Limits struct {
	// MaxStake is the largest stake accepted, in minor units; 0 means no
	// limit beyond platform.MaxStake.
	MaxStake int64
}

// Check returns an ELIMIT error when req breaks a limit, or nil.
func (l Limits) Check(req platform.BetRequest) error {
	if l.MaxStake > 0 && req.Stake > l.MaxStake {
		return platform.Errorf(platform.ELIMIT, "stake %d is above the limit of %d", req.Stake, l.MaxStake)
	}
	return nil
}
