package testkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductNeverImportsTestkit checks the rule of the package doc: no
// product package (the binary and everything it links, scripts excluded)
// depends on a test kit, so a path under internal/testkit is test code only.
// It also checks that the binary does not link gopacket's layers package,
// whose initialization alone (about 20 ms: metadata tables of 65,536
// entries) took longer than the start-up budget (docs/performance.md);
// analyze/decode has its own link layers and layer types.
func TestProductNeverImportsTestkit(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH: cannot list the binary's dependencies")
	}
	const module = "github.com/ctcpdiag/ctcpdiag"
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", module+"/cmd/ctcpdiag")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/google/gopacket/layers" {
			t.Errorf("the binary links %s", p)
		}
		if !strings.HasPrefix(p, module) {
			continue
		}
		n++
		if strings.HasPrefix(p, module+"/internal/testkit") {
			t.Errorf("the binary depends on the test kit %s", p)
		}
	}
	if n < 8 {
		t.Fatalf("go list found only %d of the module's packages behind the binary: %s", n, out)
	}
}
