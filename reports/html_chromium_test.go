package reports

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless Chromium, or skips the test; with
// INPLAY_REQUIRE_CHROMIUM=1 (CI, once it installed it) a missing one
// fails it instead.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("INPLAY_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is not on the PATH, and INPLAY_REQUIRE_CHROMIUM=1 requires it (Debian: apt-get install chromium)")
	}
	t.Skip("chromium is not on the PATH: report.html is not opened in a browser (Debian: apt-get install chromium; CI sets INPLAY_REQUIRE_CHROMIUM=1)")
	return ""
}

// runChromium runs a headless Chromium with no network of its own on a
// page, bounded, and returns its standard output.
func runChromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestHTMLInChromium opens the golden report.html in a real headless
// Chromium: the DOM it built holds every chart's SVG with its lines and
// shaded fault windows, and a screenshot shows them drawn: the series'
// and the windows' colours cover a real share of the page.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := (htmlRenderer{}).Render(&buf, goldenReport()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	charts, err := timelineCharts(goldenReport())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the DOM holds the charts", func(t *testing.T) {
		dom := string(runChromium(t, bin, page, "--dump-dom"))
		if got := strings.Count(dom, "<svg"); got != len(charts) {
			t.Fatalf("%d <svg> elements in the DOM, want %d charts", got, len(charts))
		}
		// Each chart shades redis-slow, pg-down (never healed) and
		// redis-slow's recovery; feed-gap never went in.
		windows := regexp.MustCompile(`<rect class="window" x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)" height="([0-9.]+)"`).FindAllStringSubmatch(dom, -1)
		if len(windows) != 3*len(charts) {
			t.Fatalf("%d shaded windows, want %d", len(windows), 3*len(charts))
		}
		for _, w := range windows {
			if w[1] == "0.0" || w[2] == "0.0" {
				t.Fatalf("a window of no size: %v", w[0])
			}
		}
		// A line of 60 buckets is a path of 60 points.
		long := regexp.MustCompile(`<path d="M [0-9]+ [0-9]+(\s+L [0-9]+ [0-9]+){59,}"`).FindAllString(dom, -1)
		if len(long) < len(charts) {
			t.Fatalf("%d series paths of 60 points, want at least one per chart (%d)", len(long), len(charts))
		}
	})

	t.Run("a screenshot shows them", func(t *testing.T) {
		shot := filepath.Join(dir, "shot.png")
		runChromium(t, bin, page, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		// The lines in blue (p50, requests/s) and the fault windows'
		// shade: neither colour is anywhere else on the page.
		blue, shade := 0, 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl := rgb(img, x, y)
				switch {
				case near(r, 0, 40) && near(g, 114, 40) && near(bl, 178, 40):
					blue++
				case near(r, 246, 8) && near(g, 228, 10) && near(bl, 218, 10):
					shade++
				}
			}
		}
		t.Logf("%d blue line pixels, %d fault-shade pixels", blue, shade)
		// A 1280-wide chart's line is a thousand pixels and more; a
		// window over a third of its width, tens of thousands.
		if blue < 1000 || shade < 20000 {
			t.Fatalf("%d blue line pixels and %d fault-shade pixels in the screenshot: the charts did not draw", blue, shade)
		}
	})
}

func rgb(img image.Image, x, y int) (int, int, int) {
	r, g, b, _ := img.At(x, y).RGBA()
	return int(r >> 8), int(g >> 8), int(b >> 8)
}

func near(v, want, tol int) bool { return v >= want-tol && v <= want+tol }
