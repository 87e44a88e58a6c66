package betfair

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// sharedData is the folder of the shared Betfair files, ../shared/data
// beside the repository; the test skips, saying so, when it is absent.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test's folder, so no ../shared/data to find")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data", "betfair")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("the shared Betfair data is not here (%v); it lives in ../shared/data beside the repository", err)
	}
	return data
}

// sharedFile is one shared file's path.
func sharedFile(t testing.TB, name string) string {
	return filepath.Join(sharedData(t), name)
}

// writeFile writes content to a file called name in a new temporary folder.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lines joins lines into a file's content.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// importAll imports paths to the end, checking what every import must
// hold: each event valid, t_us never going back, and the capture written
// through replay.CaptureWriter reading back with replay.ReadCapture as the
// same events.
func importAll(t testing.TB, paths []string, opts Options) (*replay.Capture, Stats) {
	t.Helper()
	c, st, err := tryImport(paths, opts)
	if err != nil {
		t.Fatalf("import %v: %v", paths, err)
	}
	var buf bytes.Buffer
	w, err := replay.NewCaptureWriter(&buf, c.Header)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Copy(c.Stream()); err != nil {
		t.Fatalf("CaptureWriter refused the import: %v", err)
	}
	back, err := replay.ReadCapture(&buf)
	if err != nil {
		t.Fatalf("the written capture does not read back: %v", err)
	}
	if len(back.Events) != len(c.Events) || back.Header != c.Header {
		t.Fatalf("read back %d events and %+v, wrote %d and %+v", len(back.Events), back.Header, len(c.Events), c.Header)
	}
	return c, st
}

// tryImport imports paths to the end, checking each event as it comes.
func tryImport(paths []string, opts Options) (*replay.Capture, Stats, error) {
	im, err := Open(paths, opts)
	if err != nil {
		return nil, Stats{}, err
	}
	defer im.Close()
	c := &replay.Capture{Header: im.Header()}
	var last int64
	for {
		e, err := im.Next()
		if err == io.EOF {
			return c, im.Stats(), nil
		}
		if err != nil {
			return c, im.Stats(), err
		}
		if verr := e.Validate(); verr != nil {
			return c, im.Stats(), errors.New("invalid event: " + verr.Error())
		}
		if e.T < last {
			return c, im.Stats(), errors.New("t_us went back")
		}
		last = e.T
		c.Events = append(c.Events, e)
	}
}

// ofKind is the events of kind k.
func ofKind(c *replay.Capture, k replay.Kind) []replay.Event {
	var out []replay.Event
	for _, e := range c.Events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
