package report_test

import (
	"io"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/benchcap"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// BenchmarkRender measures the render stage (Build and each writer) on a
// large generated capture's analysis (200,000 packets, hundreds of
// sessions).
func BenchmarkRender(b *testing.B) {
	c := benchcap.Analyzed(b, "large.pcap", 200_000, 1)
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		b.Fatal(err)
	}
	tool := report.Tool{Name: "ctcpdiag", Version: "bench"}
	rep := report.Build(c, res, tool)
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			report.Build(c, res, tool)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := report.WriteJSON(io.Discard, rep, report.JSONOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := report.WriteText(io.Discard, rep, report.TextOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("html", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := report.WriteHTML(io.Discard, rep); err != nil {
				b.Fatal(err)
			}
		}
	})
}
