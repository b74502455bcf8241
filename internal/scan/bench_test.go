package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// BenchmarkScan scans 2,000 generated captures of 100 packets each with 1
// and 2 workers; compare the ns/op of jobs=1 and jobs=2.
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	for i := range 2000 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("c%04d.pcap", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := samplegen.Large(f, 100, int64(i)); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var c countWriter
				sum, err := Scan(context.Background(), []string{dir}, Options{Jobs: jobs}, &c)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Captures != 2000 {
					b.Fatalf("%d captures", sum.Captures)
				}
			}
		})
	}
}

// countWriter discards the results.
type countWriter struct{ n int }

func (c *countWriter) Write(*Result) error   { c.n++; return nil }
func (c *countWriter) Finish(*Summary) error { return nil }
