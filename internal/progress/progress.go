// Package progress draws one-line progress bars on a terminal, with
// carriage returns, in the style every ctcpdiag command shares:
//
//	[########------------]  812/2000 files  41.3/98.0 MiB  12.1 MiB/s  ETA 0:05
//
// [Bar] does the drawing: it redraws at most every [Interval] unless told
// otherwise, reuses one buffer (a redraw does not allocate) and erases
// itself before other output. The Append functions build a line's parts;
// [Bar.Bytes] is the bar of one input read byte by byte (ctcpdiag
// analyze), internal/scan's Progress the bar of a scan. Whether to draw a
// bar at all (a terminal, --quiet) is the caller's decision.
package progress

import (
	"io"
	"strconv"
	"time"
)

// Interval is the time between two redraws of a bar.
const Interval = 100 * time.Millisecond

// Width is the number of cells of the bar between its brackets.
const Width = 20

// Bar is one progress line on a terminal. It is not safe for concurrent
// use.
type Bar struct {
	w io.Writer
	// Now is the clock (time.Now); tests replace it.
	Now   func() time.Time
	start time.Time
	last  time.Time
	buf   []byte
	shown bool
}

// New returns a bar drawn on w (a terminal).
func New(w io.Writer) *Bar {
	return &Bar{w: w, Now: time.Now, buf: make([]byte, 0, 128)}
}

// Start notes the start time, from which rates are measured.
func (b *Bar) Start() { b.start = b.Now() }

// Due tells whether a redraw is due (none was drawn, or the last is at
// least Interval old) and, if so, notes it and returns the time elapsed
// since Start and the emptied line buffer to append the line to (then
// given to Show).
func (b *Bar) Due() (elapsed time.Duration, line []byte, ok bool) {
	now := b.Now()
	if b.shown && now.Sub(b.last) < Interval {
		return 0, nil, false
	}
	b.last = now
	return now.Sub(b.start), b.buf[:0], true
}

// Show draws line, built on the buffer Due returned: it starts with a
// carriage return and ends by erasing the rest of the terminal line.
func (b *Bar) Show(line []byte) {
	b.buf = line
	b.w.Write(line)
	b.shown = true
}

// Clear erases the bar, if drawn, so that other output starts on a clean
// line; the next Due is then due at once.
func (b *Bar) Clear() {
	if !b.shown {
		return
	}
	io.WriteString(b.w, "\r\x1b[K")
	b.shown = false
	b.last = time.Time{}
}

// Open starts a bar line: a carriage return.
func Open(b []byte) []byte { return append(b, '\r') }

// Close ends a bar line: erase to the end of the terminal line.
func Close(b []byte) []byte { return append(b, "\x1b[K"...) }

// AppendBar appends "[########------------]" for the fraction frac (0 to
// 1) done.
func AppendBar(b []byte, frac float64) []byte {
	frac = min(max(frac, 0), 1)
	fill := int(frac * Width)
	b = append(b, '[')
	for i := range Width {
		if i < fill {
			b = append(b, '#')
		} else {
			b = append(b, '-')
		}
	}
	return append(b, ']')
}

// AppendMiB appends n bytes in MiB with one decimal.
func AppendMiB(b []byte, n int64) []byte {
	tenths := (n*10 + 1<<19) >> 20
	b = strconv.AppendInt(b, tenths/10, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, tenths%10, 10)
}

// AppendRate appends, once half a second has elapsed and some bytes were
// read, "  12.1 MiB/s" and, when total is known (above 0) and not reached,
// "  ETA 0:05": the time left at the rate so far.
func AppendRate(b []byte, bytes, total int64, elapsed time.Duration) []byte {
	sec := elapsed.Seconds()
	if sec < 0.5 || bytes <= 0 {
		return b
	}
	rate := float64(bytes) / sec
	b = append(b, "  "...)
	b = AppendMiB(b, int64(rate))
	b = append(b, " MiB/s"...)
	if left := total - bytes; total > 0 && left > 0 && rate > 0 {
		b = append(b, "  ETA "...)
		b = AppendClock(b, int64(float64(left)/rate+0.5))
	}
	return b
}

// AppendClock appends sec seconds as M:SS or H:MM:SS.
func AppendClock(b []byte, sec int64) []byte {
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

// Bytes redraws, if due, the bar of one input of total bytes (0 when not
// known) of which n are read, followed by its name:
//
//	[########------------]  41.3/98.0 MiB  12.1 MiB/s  ETA 0:05  big.pcap.gz
//
// and, without a total, "  41.3 MiB  12.1 MiB/s  name".
func (b *Bar) Bytes(n, total int64, name string) {
	el, line, ok := b.Due()
	if !ok {
		return
	}
	line = Open(line)
	if total > 0 {
		line = AppendBar(line, float64(n)/float64(total))
	}
	line = append(line, "  "...)
	line = AppendMiB(line, n)
	if total > 0 {
		line = append(line, '/')
		line = AppendMiB(line, total)
	}
	line = append(line, " MiB"...)
	line = AppendRate(line, n, total, el)
	if name != "" {
		line = append(line, "  "...)
		line = append(line, name...)
	}
	b.Show(Close(line))
}
