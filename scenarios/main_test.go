package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// platformBinary is an inplay executable built for this package's tests: a
// run starts the platform as `inplay platform`, and the test binary is not
// inplay.
var platformBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "inplay-scenarios-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "scenarios tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	platformBinary = filepath.Join(dir, "inplay")
	build := exec.Command("go", "build", "-o", platformBinary, "../cmd/inplay")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "scenarios tests: build inplay for the platform process:", err)
		return 1
	}
	return m.Run()
}

func createIn(dir, name string) (*os.File, error) {
	return os.Create(filepath.Join(dir, name))
}
