package bettors

import "github.com/inplaylabs/inplay/replay"

// Pending is how many items s, an Overlay, holds planned now.
func Pending(s replay.Stream) int { return len(s.(*overlay).pending) }

// MaxPending is the most items s, an Overlay, has held planned at once.
func MaxPending(s replay.Stream) int { return s.(*overlay).maxPending }
