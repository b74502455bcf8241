package scan

import (
	"io"
	"strconv"
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/progress"
)

// progressInterval is the time between two redraws of the progress bar.
const progressInterval = progress.Interval

// ProgressStats is what the progress bar shows.
type ProgressStats struct {
	// Done and Total count the inputs finished and known; TotalKnown is
	// false while archives remain unread (their entries are not counted
	// yet).
	Done, Total int64
	TotalKnown  bool
	// Bytes and BytesTotal are the stored bytes read and to read.
	Bytes, BytesTotal int64
}

// Progress draws the scan's one-line progress bar on a terminal
// (internal/progress): inputs done/total, bytes, rate and time left. It
// redraws at most every 100 ms unless forced, and reuses one buffer: a
// redraw does not allocate. A Progress is not safe for concurrent use.
type Progress struct {
	bar *progress.Bar
}

// NewProgress returns a progress bar drawn on w (a terminal).
func NewProgress(w io.Writer) *Progress {
	return &Progress{bar: progress.New(w)}
}

// Start notes the start time, from which the rate is measured.
func (p *Progress) Start() { p.bar.Start() }

// Update redraws the bar with s unless the last redraw is less than
// 100 ms old.
func (p *Progress) Update(s ProgressStats) {
	el, line, ok := p.bar.Due()
	if !ok {
		return
	}
	p.bar.Show(render(line, s, el))
}

// Clear erases the bar, if drawn, so that other output starts on a clean
// line.
func (p *Progress) Clear() { p.bar.Clear() }

// render appends the bar line for s after elapsed time el to b:
//
//	\r[########------------]  812/2000 files  41.3/98.0 MiB  12.1 MiB/s  ETA 0:05\x1b[K
func render(b []byte, s ProgressStats, el time.Duration) []byte {
	b = progress.Open(b)
	frac := 0.0
	switch {
	case s.BytesTotal > 0:
		frac = float64(s.Bytes) / float64(s.BytesTotal)
	case s.Total > 0:
		frac = float64(s.Done) / float64(s.Total)
	}
	b = progress.AppendBar(b, frac)
	b = append(b, "  "...)
	b = strconv.AppendInt(b, s.Done, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, s.Total, 10)
	if !s.TotalKnown {
		b = append(b, '+')
	}
	b = append(b, " files  "...)
	b = progress.AppendMiB(b, s.Bytes)
	b = append(b, '/')
	b = progress.AppendMiB(b, s.BytesTotal)
	b = append(b, " MiB"...)
	b = progress.AppendRate(b, s.Bytes, s.BytesTotal, el)
	return progress.Close(b)
}
