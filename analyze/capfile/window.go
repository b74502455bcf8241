package capfile

import (
	"errors"
	"io"
)

// bufSize is the initial size of a window's buffer. A large buffer keeps
// the number of read system calls low and lets most records be handed out
// in place.
const bufSize = 1 << 20

// window is a read buffer over a stream that hands out slices of its own
// buffer (zero copy) and knows the stream offset of every byte in it.
// Unlike bufio.Reader it grows, up to what the caller asks for, when a
// record is larger than the buffer; it grows only as data actually
// arrives, so a lying length field costs at most about twice the bytes the
// stream really holds.
type window struct {
	r    io.Reader
	buf  []byte
	pos  int   // first unread byte
	end  int   // end of valid data
	base int64 // stream offset of buf[0]
	err  error // sticky read error (io.EOF at end of stream)
}

// newWindow returns a window over r. hint, when positive, is the expected
// stream size; small streams get a buffer to match (it still grows when a
// record needs more).
func newWindow(r io.Reader, hint int64) *window {
	size := int64(bufSize)
	if hint > 0 && hint+1 < size {
		size = max(hint+1, 4096)
	}
	return &window{r: r, buf: make([]byte, size)}
}

// offset returns the stream offset of the next unread byte.
func (w *window) offset() int64 { return w.base + int64(w.pos) }

// need returns the next n unread bytes without consuming them. The slice
// aliases the buffer and is valid until the next call to need, skip or
// discard. If the stream ends first it returns the bytes that remain and
// io.EOF (nothing remains) or io.ErrUnexpectedEOF (some remain); other read
// errors are returned as they are.
func (w *window) need(n int) ([]byte, error) {
	for w.end-w.pos < n {
		if w.err != nil {
			err := w.err
			if err == io.EOF && w.end > w.pos {
				err = io.ErrUnexpectedEOF
			}
			return w.buf[w.pos:w.end], err
		}
		if w.end == len(w.buf) || w.pos+n > len(w.buf) {
			w.makeRoom(n)
		}
		w.fill()
	}
	return w.buf[w.pos : w.pos+n], nil
}

// makeRoom moves the unread bytes to the front of the buffer and, when
// that still leaves no free space, doubles the buffer (capped at what n
// requires).
func (w *window) makeRoom(n int) {
	if w.pos > 0 {
		copy(w.buf, w.buf[w.pos:w.end])
		w.base += int64(w.pos)
		w.end -= w.pos
		w.pos = 0
	}
	if w.end < len(w.buf) {
		return
	}
	size := 2 * len(w.buf)
	if size > n {
		size = n
	}
	if size <= len(w.buf) {
		size = len(w.buf) + 1
	}
	nb := make([]byte, size)
	copy(nb, w.buf[:w.end])
	w.buf = nb
}

// fill performs one read into the free end of the buffer.
func (w *window) fill() {
	for tries := 0; tries < 100; tries++ {
		m, err := w.r.Read(w.buf[w.end:])
		if m < 0 || m > len(w.buf)-w.end {
			w.err = errors.New("invalid read count")
			return
		}
		w.end += m
		if err != nil {
			w.err = err
			return
		}
		if m > 0 {
			return
		}
	}
	w.err = io.ErrNoProgress
}

// skip consumes n bytes that a previous need returned.
func (w *window) skip(n int) { w.pos += n }

// discard consumes n bytes, reading and dropping what is not buffered
// without growing the buffer. It returns io.ErrUnexpectedEOF (or the read
// error) when the stream ends first.
func (w *window) discard(n int64) error {
	for n > 0 {
		if w.end == w.pos {
			if w.err != nil {
				if w.err == io.EOF {
					return io.ErrUnexpectedEOF
				}
				return w.err
			}
			w.base += int64(w.end)
			w.pos, w.end = 0, 0
			w.fill()
			continue
		}
		k := int64(w.end - w.pos)
		if k > n {
			k = n
		}
		w.pos += int(k)
		n -= k
	}
	return nil
}

// Read implements io.Reader: buffered bytes first, then straight from the
// underlying reader. It lets a decompressor read the stream after its
// magic number has been peeked.
func (w *window) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if w.end > w.pos {
		n := copy(p, w.buf[w.pos:w.end])
		w.pos += n
		return n, nil
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.r.Read(p)
	w.base += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}
