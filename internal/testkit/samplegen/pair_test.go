package samplegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// TestPairsMatchGenerator builds every pair twice (the same bytes) and
// compares it with the committed files under samples/pairs/.
func TestPairsMatchGenerator(t *testing.T) {
	dir := filepath.Join(testcaps.SamplesDir(t), PairDir)
	for _, s := range PairScenarios() {
		a, b, err := s.Build()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		a2, b2, _ := s.Build()
		if !bytes.Equal(a, a2) || !bytes.Equal(b, b2) {
			t.Errorf("%s: two builds differ", s.Name)
		}
		for _, f := range []struct {
			name string
			data []byte
		}{{s.FileA, a}, {s.FileB, b}} {
			if len(f.data) > 16<<10 {
				t.Errorf("%s: %d bytes, want a few KB", f.name, len(f.data))
			}
			got, err := os.ReadFile(filepath.Join(dir, f.name))
			if err != nil {
				t.Errorf("%s: %v (run go run ./samples/gen)", f.name, err)
				continue
			}
			if !bytes.Equal(got, f.data) {
				t.Errorf("%s: committed file differs from the generator; run go run ./samples/gen", f.name)
			}
		}
	}
}
