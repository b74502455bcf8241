package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ctcpdiag/ctcpdiag/internal/progress"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// progressMin is the size of an uncompressed capture file from which
// analyze draws a progress bar, and the bytes of standard input read
// before it draws one there: smaller inputs are analyzed in about a second.
const progressMin = 64 << 20

// progressPlan decides whether analyze draws a progress bar on standard
// error while it reads the capture path: never with --quiet or when
// standard error is not a terminal; for a file, when it is larger than
// progressMin or compressed (gzip or zstd, by its magic number, as capfile
// recognises it), with its size as the total; for standard input (size
// unknown: bytes and rate only), once progressMin bytes have been read.
// min is the bytes to read before the bar is drawn.
func progressPlan(path string, quiet, terminal bool) (total, min int64, ok bool) {
	if quiet || !terminal {
		return 0, 0, false
	}
	if path == "-" {
		return 0, progressMin, true
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false // the analysis names the problem
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, 0, false
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	compressed := n >= 2 && bytes.HasPrefix(magic[:n], []byte{0x1f, 0x8b}) ||
		n == 4 && bytes.Equal(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd})
	if fi.Size() <= progressMin && !compressed {
		return 0, 0, false
	}
	return fi.Size(), 0, true
}

// correlateProgressPlan decides whether correlate draws a progress bar
// while it reads the captures a and b (at once): as progressPlan decides
// for either, with the two files' sizes together as the total; when
// either is standard input, with no total, once progressMin bytes of the
// two have been read.
func correlateProgressPlan(a, b string, quiet, terminal bool) (total, min int64, ok bool) {
	_, _, okA := progressPlan(a, quiet, terminal)
	_, _, okB := progressPlan(b, quiet, terminal)
	if !okA && !okB {
		return 0, 0, false
	}
	if a == "-" || b == "-" {
		return 0, progressMin, true
	}
	for _, p := range []string{a, b} {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return 0, 0, false // the analysis names the problem
		}
		total += fi.Size()
	}
	return total, 0, true
}

// readProgress is the progress bar of one analysis: the analysis stores
// the stored bytes it has read in read (analyze.Options.Read, once per
// buffer of input, not per packet), and a goroutine redraws the bar from
// it ten times a second until end. A correlation stores its second
// file's in readB: the bar shows the two together.
type readProgress struct {
	bar        *progress.Bar
	read       atomic.Int64
	readB      atomic.Int64
	total, min int64
	name       string
	stop, done chan struct{}
}

// progressName is the input's name on the bar: its base name, escaped and
// cut to 40 bytes; "standard input" for "-".
func progressName(path string) string {
	return progressNameN(path, 40)
}

// progressNames names correlate's two inputs on its bar: "a.pcap + b.pcap",
// each cut to 24 bytes.
func progressNames(a, b string) string {
	return progressNameN(a, 24) + " + " + progressNameN(b, 24)
}

// progressNameN is progressName cut to max bytes.
func progressNameN(path string, max int) string {
	if path == "-" {
		return "standard input"
	}
	name := report.Printable(filepath.Base(path))
	if len(name) > max {
		cut := max - 3
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "..."
	}
	return name
}

// newReadProgress returns the bar of one input on w, not started.
func newReadProgress(w io.Writer, path string, total, min int64) *readProgress {
	return &readProgress{bar: progress.New(w), total: total, min: min, name: progressName(path)}
}

// start draws the bar at once (when nothing need be read first) and then
// redraws it every progress.Interval on a goroutine of its own.
func (p *readProgress) start() {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.bar.Start()
	p.tick()
	go func() {
		defer close(p.done)
		t := time.NewTicker(progress.Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tick()
			case <-p.stop:
				p.bar.Clear()
				return
			}
		}
	}()
}

// tick redraws the bar if it is due and enough has been read.
func (p *readProgress) tick() {
	if n := p.read.Load() + p.readB.Load(); n >= p.min {
		p.bar.Bytes(n, p.total, p.name)
	}
}

// end stops the redraws and erases the bar before anything else is
// written.
func (p *readProgress) end() {
	close(p.stop)
	<-p.done
}
