package replay_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// The big-capture replay: captures of these sizes (MB of JSON Lines, 2^20
// bytes) are generated to a temporary file with a CaptureWriter, then each
// is replayed by a child process (this test binary, running
// TestBigCaptureChild) at full speed into the no-op sink, with headroom
// 1.3, journaling to a buffered io.Discard. The child's peak RSS (VmHWM) is
// the harness's memory for that capture: a fresh process, so nothing of the
// generation or of another size counts. INPLAY_BENCH_CAPTURE_MB overrides
// the sizes ("100" for a quick run).
var bigCaptureSizesMB = []int{100, 1024}

const (
	bigCaptureRSSBar   = 200 << 20 // bytes: the bar of issue 6
	bigCaptureRSSRatio = 0.20      // the smallest capture's RSS within 20% of the largest's
	bigCaptureEnv      = "INPLAY_BIG_CAPTURE"
)

// writeBigCapture generates a capture of at least size bytes to path, one
// event at a time: 50 markets, 5,000 bettors; every millisecond of capture
// an odds update, and bets, deposits and cash-outs among them.
func writeBigCapture(tb testing.TB, path string, size int64) (events int64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	counted := &countingWriter{w: f}
	w, err := replay.NewCaptureWriter(counted, replay.Header{Capture: replay.CaptureVersion, Name: "big", Source: "bench", Currency: "EUR"})
	if err != nil {
		tb.Fatal(err)
	}
	odds := []string{"1.5", "2.1", "3.4", "4.75", "6.2", "9.5"}
	for i := int64(0); counted.n < size; i++ {
		t := i * 250 // µs: 4,000 events per second of capture
		market := "m" + strconv.FormatInt(i%50+1, 10)
		account := "a" + strconv.FormatInt((i*7919)%5000+1, 10)
		var e replay.Event
		switch i % 4 {
		case 0:
			e = replay.Event{T: t, Kind: replay.KindOdds, Market: market, Producer: "live",
				Prices: map[string]string{"home": odds[i%6], "draw": odds[(i+2)%6], "away": odds[(i+4)%6]}}
		case 1:
			e = replay.Event{T: t, Kind: replay.KindDeposit, Account: account, ID: "d-" + strconv.FormatInt(i, 10), Amount: 10_000}
		case 2:
			e = replay.Event{T: t, Kind: replay.KindBet, Account: account, ID: "b-" + strconv.FormatInt(i, 10),
				Market: market, Selection: "home", Odds: odds[i%6], Stake: 500 + i%1000}
		default:
			e = replay.Event{T: t, Kind: replay.KindCashout, Account: account, ID: "c-" + strconv.FormatInt(i, 10),
				Bet: "b-" + strconv.FormatInt(i-1, 10), Amount: 400}
		}
		if err := w.Write(e); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return w.Events()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkBigCapture generates each size of bigCaptureSizesMB, replays it
// in a child process and reports the child's peak RSS per size, and whether
// the bar holds: at most 200 MB for the largest, and the smallest within 20%
// of it (memory does not grow with the capture). Run it with -benchtime 1x.
func BenchmarkBigCapture(b *testing.B) {
	sizes := bigCaptureSizesMB
	if s := os.Getenv("INPLAY_BENCH_CAPTURE_MB"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		rss := map[int]float64{}
		for _, mb := range sizes {
			path := filepath.Join(b.TempDir(), fmt.Sprintf("big-%dMB.jsonl", mb))
			began := time.Now()
			events := writeBigCapture(b, path, int64(mb)<<20)
			b.Logf("%d MB: generated %d events in %v", mb, events, time.Since(began).Round(time.Millisecond))
			cmd := exec.Command(exe, "-test.run=^TestBigCaptureChild$", "-test.v")
			cmd.Env = append(os.Environ(), bigCaptureEnv+"="+path)
			out, err := cmd.CombinedOutput()
			os.Remove(path) // a gigabyte is not left behind
			if err != nil {
				b.Fatalf("%d MB child: %v\n%s", mb, err, out)
			}
			var peak, sent, dropped int64
			var wall time.Duration
			for line := range strings.Lines(string(out)) {
				if _, err := fmt.Sscanf(strings.TrimSpace(line), "big-capture: vmhwm=%d sent=%d dropped=%d wall_ns=%d", &peak, &sent, &dropped, &wall); err == nil {
					break
				}
			}
			if peak == 0 {
				b.Fatalf("%d MB child printed no figures:\n%s", mb, out)
			}
			b.Logf("%d MB: replayed %d events (%d dropped) in %v, %.0f events/s; peak RSS %.1f MB",
				mb, sent+dropped, dropped, wall.Round(time.Millisecond), float64(sent+dropped)/wall.Seconds(), float64(peak)/(1<<20))
			rss[mb] = float64(peak) / (1 << 20)
			b.ReportMetric(rss[mb], fmt.Sprintf("rss-MB-%dMB", mb))
			b.ReportMetric(float64(sent+dropped)/wall.Seconds(), fmt.Sprintf("events/s-%dMB", mb))
		}
		b.ReportMetric(0, "ns/op")
		lo, hi := sizes[0], sizes[len(sizes)-1]
		if len(sizes) > 1 {
			ratio := rss[lo] / rss[hi]
			b.ReportMetric(ratio, "rss-ratio")
			held := rss[hi] <= bigCaptureRSSBar>>20 && ratio >= 1-bigCaptureRSSRatio && ratio <= 1+bigCaptureRSSRatio
			b.ReportMetric(map[bool]float64{true: 1}[held], "bar-held")
		}
	}
}

// TestBigCaptureChild is BenchmarkBigCapture's child: it replays the
// capture named by INPLAY_BIG_CAPTURE and prints its figures; without it,
// it skips.
func TestBigCaptureChild(t *testing.T) {
	path := os.Getenv(bigCaptureEnv)
	if path == "" {
		t.Skip("the child of BenchmarkBigCapture; not a test on its own")
	}
	s, err := replay.OpenStream(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Full speed: the capture's 4,000 events a second at speed 50 are
	// 260,000 a second with headroom, more than the dispatcher is asked to
	// hold (200,000 a core), so it runs flat out. Not faster: the planner
	// holds a clone for its offset, up to 50 ms of wall time, and at a
	// speed where 50 ms covers the whole capture it would hold every clone.
	plan, err := replay.NewPlanner(s, replay.PlanOptions{Speed: 50, Headroom: 1.3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	journal := bufio.NewWriterSize(io.Discard, 1<<16)
	eng := replay.NewEngine(sink{}, nullPublisher{}, replay.JournalTo(journal))
	start := time.Now()
	res, err := eng.Run(context.Background(), plan, start)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("big-capture: vmhwm=%d sent=%d dropped=%d wall_ns=%d\n", vmHWM(t), res.Sent, res.Dropped, time.Since(start).Nanoseconds())
}

// nullPublisher takes feed events and does nothing.
type nullPublisher struct{}

func (nullPublisher) Publish(replay.Event) int64 { return 0 }

// vmHWM is the process's peak resident set, in bytes, from /proc.
func vmHWM(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
