package clitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// Build builds the command pkg (an import path, or "." for the package
// under test) into the test's temporary directory and returns the binary's
// path, so a test runs the real command as a user does.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := buildInto(dir, pkg); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	bin, err := onlyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Main is a TestMain for tests that run built commands: it builds pkgs
// into one temporary directory, hands it to setDir (which keeps the
// binaries' paths), runs the tests, removes the directory and, when they
// passed, checks that no goroutine leaked. It returns the exit code.
func Main(m *testing.M, setDir func(dir string), pkgs ...string) int {
	dir, err := os.MkdirTemp("", "netstages-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if out, err := buildInto(dir, pkgs...); err != nil {
		fmt.Fprintf(os.Stderr, "go build %v: %v\n%s", pkgs, err, out)
		return 1
	}
	setDir(dir)
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// buildInto runs go build -o DIR/ for pkgs.
func buildInto(dir string, pkgs ...string) ([]byte, error) {
	args := append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)
	return exec.Command("go", args...).CombinedOutput()
}

// onlyFile returns the one file in dir.
func onlyFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		return "", fmt.Errorf("clitest: want one binary in %s, found %d (%v)", dir, len(entries), err)
	}
	return filepath.Join(dir, entries[0].Name()), nil
}
