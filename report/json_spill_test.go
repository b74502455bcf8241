package report_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/benchcap"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// writes records the size of every Write.
type writes struct {
	bytes.Buffer
	sizes []int
	fail  error // returned by the second Write, if set
}

func (w *writes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	if w.fail != nil && len(w.sizes) == 2 {
		return 0, w.fail
	}
	return w.Buffer.Write(p)
}

// TestWriteJSONInPieces writes a report of hundreds of kilobytes: it must
// go out in several writes of bounded size, and the bytes must be
// AppendJSON's, compact and indented; a failing writer's error is
// returned.
func TestWriteJSONInPieces(t *testing.T) {
	c := benchcap.Analyzed(t, "large.pcap", 40_000, 5)
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(c, res, report.Tool{Name: "ctcpdiag", Version: "test"})
	for _, opts := range []report.JSONOptions{{}, {Compact: true}} {
		want, err := report.AppendJSON(nil, rep, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 192<<10 {
			t.Fatalf("report of %d bytes: too small to test the pieces", len(want))
		}
		var w writes
		if err := report.WriteJSON(&w, rep, opts); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.Bytes(), want) {
			t.Errorf("compact %v: WriteJSON's bytes differ from AppendJSON's", opts.Compact)
		}
		if len(w.sizes) < 3 {
			t.Errorf("compact %v: %d writes for %d bytes", opts.Compact, len(w.sizes), len(want))
		}
		for _, n := range w.sizes {
			if n > 128<<10 {
				t.Errorf("compact %v: a write of %d bytes", opts.Compact, n)
			}
		}
		fail := errors.New("disk full")
		if err := report.WriteJSON(&writes{fail: fail}, rep, opts); !errors.Is(err, fail) {
			t.Errorf("compact %v: error %v, want the writer's", opts.Compact, err)
		}
	}
}
