package scan

import (
	"io"
	"strconv"
	"time"
)

// progressInterval is the time between two redraws of the progress bar.
const progressInterval = 100 * time.Millisecond

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

// Progress draws a one-line progress bar on a terminal with carriage
// returns: inputs done/total, bytes, rate and time left. It redraws at
// most every 100 ms unless forced, and reuses one buffer: a redraw does
// not allocate. A Progress is not safe for concurrent use.
type Progress struct {
	w     io.Writer
	now   func() time.Time
	start time.Time
	last  time.Time
	buf   []byte
	shown bool
}

// NewProgress returns a progress bar drawn on w (a terminal).
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w, now: time.Now, buf: make([]byte, 0, 128)}
}

// Start notes the start time, from which the rate is measured.
func (p *Progress) Start() { p.start = p.now() }

// Update redraws the bar with s unless the last redraw is less than
// 100 ms old.
func (p *Progress) Update(s ProgressStats) {
	now := p.now()
	if p.shown && now.Sub(p.last) < progressInterval {
		return
	}
	p.last = now
	p.buf = p.render(p.buf[:0], s, now.Sub(p.start))
	p.w.Write(p.buf)
	p.shown = true
}

// Clear erases the bar, if drawn, so that other output starts on a clean
// line.
func (p *Progress) Clear() {
	if !p.shown {
		return
	}
	io.WriteString(p.w, "\r\x1b[K")
	p.shown = false
	// Let the next Update redraw at once.
	p.last = time.Time{}
}

const barWidth = 20

// render appends the bar line for s after elapsed time el to b:
//
//	\r[########------------]  812/2000 files  41.3/98.0 MiB  12.1 MiB/s  ETA 0:05\x1b[K
func (p *Progress) render(b []byte, s ProgressStats, el time.Duration) []byte {
	b = append(b, '\r', '[')
	frac := 0.0
	switch {
	case s.BytesTotal > 0:
		frac = float64(s.Bytes) / float64(s.BytesTotal)
	case s.Total > 0:
		frac = float64(s.Done) / float64(s.Total)
	}
	frac = min(max(frac, 0), 1)
	fill := int(frac * barWidth)
	for i := range barWidth {
		if i < fill {
			b = append(b, '#')
		} else {
			b = append(b, '-')
		}
	}
	b = append(b, "]  "...)
	b = strconv.AppendInt(b, s.Done, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, s.Total, 10)
	if !s.TotalKnown {
		b = append(b, '+')
	}
	b = append(b, " files  "...)
	b = appendMiB(b, s.Bytes)
	b = append(b, '/')
	b = appendMiB(b, s.BytesTotal)
	b = append(b, " MiB"...)
	if sec := el.Seconds(); sec >= 0.5 && s.Bytes > 0 {
		rate := float64(s.Bytes) / sec
		b = append(b, "  "...)
		b = appendMiB(b, int64(rate))
		b = append(b, " MiB/s"...)
		if left := s.BytesTotal - s.Bytes; left > 0 && rate > 0 {
			b = append(b, "  ETA "...)
			b = appendClock(b, int64(float64(left)/rate+0.5))
		}
	}
	return append(b, "\x1b[K"...)
}

// appendMiB appends n bytes in MiB with one decimal.
func appendMiB(b []byte, n int64) []byte {
	tenths := (n*10 + 1<<19) >> 20
	b = strconv.AppendInt(b, tenths/10, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, tenths%10, 10)
}

// appendClock appends sec seconds as M:SS or H:MM:SS.
func appendClock(b []byte, sec int64) []byte {
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, ':')
		b = append(b, byte('0'+m/10), byte('0'+m%10))
	} else {
		b = strconv.AppendInt(b, m, 10)
	}
	b = append(b, ':')
	return append(b, byte('0'+s/10), byte('0'+s%10))
}
