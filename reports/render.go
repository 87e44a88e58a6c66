package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
)

// Renderer turns a Report into one file of a run's folder. Each renderer
// is one small type, registered by name.
type Renderer interface {
	// File is the name of the file the renderer writes, e.g. "report.json".
	File() string
	// Render writes r to w.
	Render(w io.Writer, r *Report) error
}

var (
	renderersMu sync.RWMutex
	renderers   = map[string]Renderer{}
)

// Register makes a renderer available under name. Registering a second
// renderer under the same name, or two renderers writing the same file, is
// a programming error and panics, as toxiproxy does for toxics.
func Register(name string, r Renderer) {
	renderersMu.Lock()
	defer renderersMu.Unlock()
	if name == "" || r == nil {
		panic("reports: Register needs a name and a renderer")
	}
	if _, dup := renderers[name]; dup {
		panic("reports: renderer " + name + " is registered twice")
	}
	for other, o := range renderers {
		if o.File() == r.File() {
			panic(fmt.Sprintf("reports: renderers %s and %s both write %s", other, name, r.File()))
		}
	}
	renderers[name] = r
}

// Renderers lists the registered renderer names, sorted.
func Renderers() []string {
	renderersMu.RLock()
	defer renderersMu.RUnlock()
	names := make([]string, 0, len(renderers))
	for n := range renderers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupRenderer returns the renderer registered under name.
func LookupRenderer(name string) (Renderer, bool) {
	renderersMu.RLock()
	defer renderersMu.RUnlock()
	r, ok := renderers[name]
	return r, ok
}

// WriteAll renders r with every registered renderer into dir, which must
// exist, and returns the paths written, in renderer-name order. A file is
// written only once it rendered completely, so a failing renderer never
// leaves half a report behind.
func WriteAll(dir string, r *Report) ([]string, error) {
	var paths []string
	for _, name := range Renderers() {
		rd, _ := LookupRenderer(name)
		var buf bytes.Buffer
		if err := rd.Render(&buf, r); err != nil {
			return paths, fmt.Errorf("render %s: %w", name, err)
		}
		path := filepath.Join(dir, rd.File())
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return paths, fmt.Errorf("render %s: %w", name, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// normalized returns a copy of r whose lists are never nil, so that a
// Report built by hand renders [] rather than null.
func normalized(r *Report) *Report {
	c := *r
	c.SLOs = nonNil(c.SLOs)
	c.Faults = nonNil(c.Faults)
	c.Problems = nonNil(c.Problems)
	c.Invariants = slices.Clone(nonNil(c.Invariants))
	for i := range c.Invariants {
		ws := slices.Clone(nonNil(c.Invariants[i].Witnesses))
		for j := range ws {
			ws[j].IDs = nonNil(ws[j].IDs)
		}
		c.Invariants[i].Witnesses = ws
	}
	return &c
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
