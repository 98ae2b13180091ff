package actors_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsPointDown keeps the layering of DESIGN.md: transport imports
// only the standard library; actors never imports sim, protocols or cmd;
// protocols never import sim or cmd; sim never imports protocols or cmd.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "netstages/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string][]string{
		"netstages/transport": {"netstages/actors", "netstages/protocols", "netstages/sim", "netstages/cmd"},
		"netstages/actors":    {"netstages/protocols", "netstages/sim", "netstages/cmd"},
		"netstages/protocols": {"netstages/sim", "netstages/cmd"},
		"netstages/sim":       {"netstages/protocols", "netstages/cmd"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for layer, banned := range forbidden {
			if !within(pkg, layer) {
				continue
			}
			for _, d := range deps {
				for _, b := range banned {
					if within(d, b) {
						t.Errorf("%s imports %s: imports must point down (DESIGN.md)", pkg, d)
					}
				}
				if layer == "netstages/transport" && strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
					t.Errorf("%s imports %s: transport uses the standard library only", pkg, d)
				}
			}
		}
	}
}

func within(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}
