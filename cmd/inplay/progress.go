package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/inplaylabs/inplay/scenarios"
)

// How often the progress is shown: the live line on a terminal, the plain
// line otherwise (a CI log wants a line now and then, not a redraw).
const (
	liveEvery  = 250 * time.Millisecond
	plainEvery = 5 * time.Second
)

// newProgress is the run command's progress: one live line on a terminal,
// redrawn in place by progressbar, with sent/planned, the rate, the
// schedule lag p99 so far, the errors and the fault in force; otherwise a
// plain line of the same figures every plainEvery. quiet turns it off.
func newProgress(w io.Writer, quiet bool) scenarios.ProgressFunc {
	if quiet {
		return nil
	}
	return func(snapshot func() scenarios.Progress) func() {
		var (
			stop = make(chan struct{})
			wg   sync.WaitGroup
		)
		draw, finish := plainLine(w)
		every := plainEvery
		if isTerminal(w) {
			draw, finish = liveLine(w, snapshot().Planned)
			every = liveEvery
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					draw(snapshot())
				}
			}
		}()
		return func() {
			close(stop)
			wg.Wait()
			finish(snapshot())
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// figures is the progress as one line's worth of text.
func figures(p scenarios.Progress) string {
	var b strings.Builder
	secs := p.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(p.Sent) / secs
	}
	fmt.Fprintf(&b, "%.0f/s, lag p99 %s, %d errors", rate, p.LagP99.Round(10*time.Microsecond), p.Unknown)
	if p.Dropped > 0 {
		fmt.Fprintf(&b, ", %d dropped", p.Dropped)
	}
	if len(p.Faults) > 0 {
		fmt.Fprintf(&b, ", fault: %s", strings.Join(p.Faults, ", "))
	}
	return b.String()
}

// liveLine draws the progress as a progressbar on a terminal.
func liveLine(w io.Writer, planned int64) (draw, finish func(scenarios.Progress)) {
	bar := progressbar.NewOptions64(max(planned, 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("replay"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionThrottle(liveEvery/2),
		progressbar.OptionSetRenderBlankState(true),
	)
	draw = func(p scenarios.Progress) {
		bar.Describe(figures(p))
		_ = bar.Set64(p.Dispatched)
	}
	finish = func(p scenarios.Progress) {
		draw(p)
		_ = bar.Exit() // leaves the last line on screen
		fmt.Fprintln(w)
	}
	return draw, finish
}

// plainLine writes the progress as a plain line, for logs.
func plainLine(w io.Writer) (draw, finish func(scenarios.Progress)) {
	draw = func(p scenarios.Progress) {
		fmt.Fprintf(w, "inplay: replay %d/%d sent, %s\n", p.Sent, p.Planned, figures(p))
	}
	return draw, draw
}
