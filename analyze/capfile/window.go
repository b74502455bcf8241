package capfile

import "io"

// window is a read buffer over a stream of chunks that hands out slices of
// the chunks themselves (zero copy) and knows the stream offset of every
// byte it holds. A record cut by a chunk boundary is made whole by moving
// the unread tail of the old chunk into the room before the next chunk's
// data (chunkHead bytes), or, for a longer record, by gathering it in a
// buffer of the window's own. That buffer grows only as data actually
// arrives, so a lying length field costs at most about twice the bytes the
// stream really holds.
type window struct {
	s    *stream
	cur  *chunk // the chunk buf aliases; nil when buf is own
	own  []byte // buffer for records longer than chunkHead
	buf  []byte
	pos  int   // first unread byte
	end  int   // end of valid data
	base int64 // stream offset of buf[0]
	err  error // sticky read error (io.EOF at end of stream)
}

func newWindow(s *stream) *window { return &window{s: s} }

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
		w.advance()
	}
	return w.buf[w.pos : w.pos+n], nil
}

// advance appends the next chunk to the unread bytes.
func (w *window) advance() {
	c := w.s.next()
	err := c.err
	left := w.end - w.pos
	if left <= c.head {
		start := c.head - left
		copy(c.b[start:c.head], w.buf[w.pos:w.end])
		w.base += int64(w.pos - start)
		w.releaseCur()
		w.cur = c
		w.buf, w.pos, w.end = c.b, start, c.head+c.n
	} else {
		size := left + c.n
		if cap(w.own) < size {
			nb := make([]byte, max(size, 2*cap(w.own)))
			copy(nb, w.buf[w.pos:w.end])
			w.own = nb
		} else {
			copy(w.own, w.buf[w.pos:w.end])
		}
		copy(w.own[left:size], c.data())
		w.base += int64(w.pos)
		w.releaseCur()
		w.s.release(c)
		w.buf, w.pos, w.end = w.own[:size], 0, size
	}
	if err != nil {
		w.err = err
	}
}

// releaseCur gives the current chunk back to the stream.
func (w *window) releaseCur() {
	if w.cur != nil {
		w.s.release(w.cur)
		w.cur = nil
	}
}

// close gives the current chunk back; only offset may be used after.
func (w *window) close() {
	w.releaseCur()
	w.base += int64(w.pos)
	w.buf, w.pos, w.end = nil, 0, 0
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
			w.advance()
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

// drain reads the rest of the stream, dropping it.
func (w *window) drain() {
	for w.err == nil {
		w.pos = w.end
		w.advance()
	}
	w.pos = w.end
}

// Read implements io.Reader over the unread bytes. It lets a
// decompressor read the stream after its magic number has been peeked.
func (w *window) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for w.end == w.pos {
		if w.err != nil {
			return 0, w.err
		}
		w.advance()
	}
	n := copy(p, w.buf[w.pos:w.end])
	w.pos += n
	return n, nil
}
