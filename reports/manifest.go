package reports

import (
	"os"
	"runtime/debug"
)

// BuildInfo names the inplay binary that reached a verdict: report.json's
// run.build, for the run manifest.
type BuildInfo struct {
	Go       string `json:"go"`                 // the Go toolchain, e.g. go1.26.0
	Version  string `json:"version"`            // the module version, "(devel)" for a local build
	Revision string `json:"revision,omitempty"` // the VCS revision, when built from a checkout
	Modified bool   `json:"modified,omitempty"` // the checkout had uncommitted changes
}

// currentBuild reads the running binary's build information; nil when the
// binary carries none.
func currentBuild() *BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	b := &BuildInfo{Go: bi.GoVersion, Version: bi.Main.Version}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// currentHost is the machine's name, or "" when it cannot be read.
func currentHost() string {
	h, _ := os.Hostname()
	return h
}
