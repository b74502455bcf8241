package capfile

import (
	"errors"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// The bytes of a capture travel in chunks that are handed from the reader
// to the parser without being copied: the window parses records in place
// in the chunk that holds them. The expensive work on the raw bytes runs
// on a second goroutine where it can: the SHA-256 of the stored file (it
// costs more CPU than parsing, so the parser's goroutine reads the file
// itself and only the hashing is handed off), and gzip or zstd
// decompression (the decompressor's goroutine decompresses; the parser
// gets the decompressed chunks). Without the hash, an input of 4 MiB or
// more is read ahead on a goroutine of its own: read(2)'s copy then
// leaves the parser's goroutine, or the decompressor's.

const (
	// chunkData is the number of data bytes per chunk.
	chunkData = 1 << 20
	// chunkHead is the room before a chunk's data into which the window
	// moves the unread tail of the previous chunk (a record cut by the
	// chunk boundary), so that the record is whole without copying the
	// chunk. Longer records are gathered in a buffer of the window.
	chunkHead = 64 << 10
	// streamDepth is the number of chunks a stream with a goroutine
	// keeps in flight.
	streamDepth = 4
	// prefetchMin is the stored size below which the hash is computed in
	// line: a small file is not worth a goroutine.
	prefetchMin = 4 << 20
)

// chunk is one piece of a stream: data in b[head:head+n], then the
// reader's error (io.EOF at the end) once n bytes were read. head is
// chunkHead: room for the window to move the previous chunk's unread tail
// into.
//
// Files are read with read(2), not mapped: on the VMs this is measured on
// (docs/performance.md), touching a mapping of a page-cached file cost
// 3.5 times the whole analysis's read(2) and copy.
type chunk struct {
	b    []byte
	head int
	n    int
	err  error
	refs atomic.Int32 // holders that have not released it yet
}

func (c *chunk) data() []byte { return c.b[c.head : c.head+c.n] }

// chunkPool recycles buffer chunks across streams, so that scanning many
// files does not allocate and clear megabytes per file.
var chunkPool = sync.Pool{New: func() any { return &chunk{b: make([]byte, chunkHead+chunkData), head: chunkHead} }}

// Stream modes.
const (
	// modeInline reads in the consumer's goroutine and hashes there (if
	// at all): small inputs.
	modeInline = iota
	// modeHashAhead reads in the consumer's goroutine and hashes on a
	// goroutine of its own.
	modeHashAhead
	// modeReadAhead reads (and decompresses: r is the decompressor) on a
	// goroutine of its own; no hash.
	modeReadAhead
)

// stream cuts a reader into chunks, in order. next and release are for
// the consumer's goroutine only (release also for the hashing goroutine);
// stop ends the stream's goroutine and may be called more than once. The
// consumer holds at most two chunks at a time (the window's current one
// and the next).
type stream struct {
	r    io.Reader
	h    hash.Hash // nil: no hash
	mode int

	free chan *chunk // chunks ready for reuse; never full
	full chan *chunk // modeReadAhead: chunks read ahead
	hq   chan *chunk // modeHashAhead: chunks to hash
	done chan struct{}
	exit chan struct{} // closed when the goroutine has ended
	once sync.Once

	n   int64 // bytes handed out by next
	err error // the error of the last chunk handed out, once there is one
	// read, if set, is given n after every chunk (Options.Read).
	read *atomic.Int64
}

// newStream returns a stream over r in the given mode; h, if not nil, is
// fed every byte of r (not with modeReadAhead).
//
// held is room for that many more chunks, which the consumer may keep
// (Source.Hold) while it reads on; grow adds them once the consumer knows
// it reads this stream's chunks (not a decompressor's).
func newStream(r io.Reader, h hash.Hash, mode int, held int) *stream {
	s := &stream{r: r, h: h, mode: mode}
	nchunks := 2
	if mode != modeInline {
		nchunks = streamDepth + 2
	}
	s.free = make(chan *chunk, nchunks+held)
	for range nchunks {
		s.free <- chunkPool.Get().(*chunk)
	}
	switch mode {
	case modeHashAhead:
		s.hq = make(chan *chunk, nchunks)
		s.exit = make(chan struct{})
		go s.hashLoop()
	case modeReadAhead:
		s.full = make(chan *chunk, streamDepth)
		s.done = make(chan struct{})
		s.exit = make(chan struct{})
		go s.readLoop()
	}
	return s
}

// grow adds n chunks to the stream's (at most the held of newStream).
func (s *stream) grow(n int) {
	for range n {
		s.free <- chunkPool.Get().(*chunk)
	}
}

// next returns the next chunk; the consumer gives it back with release.
// After a chunk with an error, next returns chunks with no data and the
// same error.
func (s *stream) next() *chunk {
	var c *chunk
	if s.mode == modeReadAhead {
		var ok bool
		if c, ok = <-s.full; !ok {
			c = <-s.free
			c.n, c.err = 0, s.err
			if c.err == nil {
				c.err = io.ErrClosedPipe
			}
		}
	} else {
		c = <-s.free
		switch {
		case s.err != nil:
			c.n, c.err = 0, s.err
		default:
			c.n, c.err = fill(s.r, c.b[chunkHead:])
		}
	}
	if c.err != nil {
		s.err = c.err
	}
	s.n += int64(c.n)
	if s.read != nil {
		s.read.Store(s.n)
	}
	c.refs.Store(1)
	if s.h != nil && c.n > 0 {
		if s.mode == modeHashAhead {
			c.refs.Store(2)
			s.hq <- c
		} else {
			s.h.Write(c.data())
		}
	}
	return c
}

// release gives a chunk back once all its holders are done with it.
func (s *stream) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		s.free <- c
	}
}

// readLoop reads r ahead until it fails or stop is called.
func (s *stream) readLoop() {
	defer close(s.exit)
	defer close(s.full)
	for {
		var c *chunk
		select {
		case c = <-s.free:
		case <-s.done:
			return
		}
		c.n, c.err = fill(s.r, c.b[chunkHead:])
		err := c.err // c belongs to the consumer once sent
		select {
		case s.full <- c:
		case <-s.done:
			s.free <- c
			return
		}
		if err != nil {
			return
		}
	}
}

// hashLoop hashes the chunks next hands it, in order.
func (s *stream) hashLoop() {
	defer close(s.exit)
	for c := range s.hq {
		s.h.Write(c.data())
		s.release(c)
	}
}

// sum returns the hash of the bytes handed out so far. With
// modeHashAhead it ends the hashing goroutine first: call it only once no
// more chunks will be read.
func (s *stream) sum() []byte {
	if s.mode == modeHashAhead {
		s.stop()
	}
	if s.h == nil {
		return nil
	}
	return s.h.Sum(nil)
}

// stop ends the stream's goroutine and waits for it; the bytes not yet
// read are dropped. The chunks the consumer has released go back to the
// pool; it must not use the stream afterwards, except sum and stop.
func (s *stream) stop() {
	s.once.Do(func() {
		switch s.mode {
		case modeReadAhead:
			close(s.done)
			for c := range s.full { // unblock and drain
				s.free <- c
			}
			<-s.exit
		case modeHashAhead:
			close(s.hq)
			<-s.exit
		}
		for {
			select {
			case c := <-s.free:
				chunkPool.Put(c)
			default:
				return
			}
		}
	})
}

// fill reads into b until it is full or r fails; a reader that returns
// neither data nor an error 100 times in a row fails with
// io.ErrNoProgress, so it cannot hang the reader.
func fill(r io.Reader, b []byte) (int, error) {
	n, nul := 0, 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		if m < 0 || m > len(b)-n {
			return n, errors.New("invalid read count")
		}
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if nul++; nul > 100 {
				return n, io.ErrNoProgress
			}
		} else {
			nul = 0
		}
	}
	return n, nil
}
