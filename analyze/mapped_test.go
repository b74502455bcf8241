package analyze_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// TestFileShrinksWhileMapped cuts a large capture short while it is being
// analyzed through memory mappings: the pages past the new end fault, and
// the analysis must return an input error naming the file, not crash.
func TestFileShrinksWhileMapped(t *testing.T) {
	if !capfile.MapsFiles {
		t.Skip("files are not memory-mapped on this platform")
	}
	var buf bytes.Buffer
	if err := samplegen.Large(&buf, 8000, 3); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 5<<20 {
		t.Fatalf("capture of %d bytes: too small to be mapped", buf.Len())
	}
	for _, noHash := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "shrinking.pcap")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cut := false
		opts := analyze.WithTrace(analyze.Options{NoHash: noHash}, func(frame uint64, _ uint16) {
			if frame == 100 && !cut {
				cut = true
				// Frame 100 lies in the first chunk (1 MiB); cut
				// the file inside it, so that later frames of the
				// mapped chunk are gone.
				if err := os.Truncate(path, 256<<10); err != nil {
					t.Error(err)
				}
			}
		})
		c, err := analyze.File(path, opts)
		if !cut {
			t.Fatal("the file was never cut")
		}
		var ie *analyze.InputError
		if !errors.As(err, &ie) || !errors.Is(err, capfile.ErrChanged) || ie.File != path {
			t.Fatalf("no-hash %v: got capture %v, error %v; want an input error naming the file, with ErrChanged", noHash, c != nil, err)
		}
		t.Logf("no-hash %v: %v", noHash, err)
	}
}
