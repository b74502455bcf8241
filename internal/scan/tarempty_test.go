package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestTarEmptyEntries scans a tar whose entries include empty ones before
// any buffer was pooled: each is reported, none is lost or crashes a
// worker, with one job and with more jobs than buffers.
func TestTarEmptyEntries(t *testing.T) {
	stall := sample(t, "ctcp-proxy-stall.pcap")
	path := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(path, tarball(t, false,
		entry{"empty.pcap", nil},
		entry{"stall.pcap", stall},
		entry{"empty2.pcap", nil},
		entry{"stall2.pcap", stall},
		entry{"stall3.pcap", stall},
	), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		path + ":empty.pcap":  KindUnreadable,
		path + ":empty2.pcap": KindUnreadable,
		path + ":stall.pcap":  KindCapture,
		path + ":stall2.pcap": KindCapture,
		path + ":stall3.pcap": KindCapture,
	}
	for _, jobs := range []int{1, 3} {
		var c collector
		if _, err := Scan(context.Background(), []string{path}, Options{Jobs: jobs}, &c); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range c.res {
			got[r.Path] = r.Kind
		}
		if len(got) != len(want) {
			t.Fatalf("jobs %d: %d results %v, want %v", jobs, len(got), got, want)
		}
		for p, k := range want {
			if got[p] != k {
				t.Errorf("jobs %d: %s: kind %v, want %v", jobs, p, got[p], k)
			}
		}
	}
}
