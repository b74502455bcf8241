package scan

import (
	"io"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/pipeline"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/benchcap"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// BenchmarkCapture measures what a scan does for one small capture (100
// generated packets) after analyzing it: detect, build the report, and
// write its jsonl line and its text row; then each step alone.
func BenchmarkCapture(b *testing.B) {
	c := benchcap.Analyzed(b, "small.pcap", 100, 7)
	tool := report.Tool{Name: "ctcpdiag", Version: "bench"}
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		b.Fatal(err)
	}
	rep := report.Build(c, res, tool)
	r := &Result{Path: "dir/small.pcap", Kind: KindCapture, Report: rep}
	jw, _ := NewWriter("jsonl", io.Discard, WriterOptions{})
	tw, _ := NewWriter("text", io.Discard, WriterOptions{})

	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// The report as a scan's worker builds it.
			out := pipeline.Report(c, pipeline.Input{Path: "dir/small.pcap"}, pipeline.Options{Tool: tool})
			if out.DetectErr != nil {
				b.Fatal(out.DetectErr)
			}
			r := &Result{Path: "dir/small.pcap", Kind: KindCapture, Report: out.Report}
			if err := jw.Write(r); err != nil {
				b.Fatal(err)
			}
			if err := tw.Write(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("detect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := detect.Run(c, detect.Config{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			report.Build(c, res, tool)
		}
	})
	b.Run("jsonl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := jw.Write(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := tw.Write(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
