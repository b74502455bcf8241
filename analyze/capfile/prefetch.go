package capfile

import (
	"errors"
	"hash"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// The bytes of a capture travel in chunks that are handed from the reader
// to the parser without being copied: the window parses records in place
// in the chunk that holds them. The expensive work on the raw bytes runs
// on a second goroutine where it can: the SHA-256 of the stored file (it
// costs more CPU than parsing, so the parser's goroutine reads the file
// itself and only the hashing is handed off), and gzip or zstd
// decompression (the decompressor's goroutine reads and decompresses; the
// parser gets the decompressed chunks). Without the hash, a large file is
// also read ahead on a goroutine of its own: mapped, or, compressed, with
// read(2), whose copy then leaves the decompressor's goroutine.

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
// reader's error (io.EOF at the end) once n bytes were read.
//
// A chunk is either a buffer (head is chunkHead: room for the window to
// move the previous chunk's unread tail into) or, for a file read through
// memory mappings, a read-only mapping of the file whose first head bytes
// are the file's bytes before the chunk's data: the previous chunk's tail
// is already in place there.
type chunk struct {
	b      []byte
	head   int
	n      int
	err    error
	mapped bool         // b is a mapping, unmapped on release
	refs   atomic.Int32 // holders that have not released it yet
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

	// A mapped stream maps the file f chunk by chunk instead of reading
	// r; off is the file offset of the next chunk's data. With
	// modeReadAhead its goroutine maps ahead (and unmaps what comes back),
	// which takes that system time off the consumer's goroutine. A fault
	// while hashing a mapping (the file shrank under it) ends the hash
	// with herr.
	f    *os.File
	off  int64
	herr error

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
func newStream(r io.Reader, h hash.Hash, mode int) *stream {
	return newStreamOf(r, nil, h, mode)
}

// newMappedStream returns a stream that maps the regular file f, from its
// start, instead of reading it; with modeReadAhead h must be nil.
func newMappedStream(f *os.File, h hash.Hash, mode int) *stream {
	return newStreamOf(f, f, h, mode)
}

func newStreamOf(r io.Reader, f *os.File, h hash.Hash, mode int) *stream {
	s := &stream{r: r, f: f, h: h, mode: mode}
	nchunks := 2
	if mode != modeInline {
		nchunks = streamDepth + 2
	}
	s.free = make(chan *chunk, nchunks)
	for range nchunks {
		if f != nil {
			s.free <- &chunk{}
		} else {
			s.free <- chunkPool.Get().(*chunk)
		}
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

// next returns the next chunk; the consumer gives it back with release.
// After a chunk with an error, next returns chunks with no data and the
// same error.
func (s *stream) next() *chunk {
	var c *chunk
	if s.mode == modeReadAhead {
		var ok bool
		if c, ok = <-s.full; !ok {
			c = <-s.free
			if s.f != nil {
				unmapChunk(c)
				c.head = 0
			}
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
		case s.f != nil:
			s.mapNext(c)
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

// mapNext maps the next chunk of the file into c: up to chunkData bytes
// of data and, before them, up to chunkHead bytes already handed out. The
// file's size is taken again for every chunk, so a file that grows is
// read to its end as read(2) would, and one that shrank ends early
// instead of faulting.
func (s *stream) mapNext(c *chunk) {
	c.b, c.head, c.n, c.err, c.mapped = nil, 0, 0, nil, false
	st, err := s.f.Stat()
	if err != nil {
		c.err = err
		return
	}
	size := st.Size()
	if s.off >= size {
		c.err = io.EOF
		return
	}
	head := min(int64(chunkHead), s.off)
	n := min(int64(chunkData), size-s.off)
	b, err := mapFile(s.f, s.off-head, int(head+n))
	if err != nil {
		c.err = err
		return
	}
	c.b, c.head, c.n, c.mapped = b, int(head), int(n), true
	s.off += n
}

// release gives a chunk back once all its holders are done with it.
func (s *stream) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		if s.mode != modeReadAhead { // else readLoop unmaps it
			unmapChunk(c)
		}
		s.free <- c
	}
}

// unmapChunk unmaps c's data if it is a mapping.
func unmapChunk(c *chunk) {
	if c.mapped {
		unmap(c.b)
		c.b, c.mapped = nil, false
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
		if s.f != nil {
			unmapChunk(c)
			s.mapNext(c)
		} else {
			c.n, c.err = fill(s.r, c.b[chunkHead:])
		}
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
	if s.f != nil {
		debug.SetPanicOnFault(true) // this goroutine's only
	}
	for c := range s.hq {
		if s.herr == nil {
			s.herr = hashChunk(s.h, c.data())
		}
		s.release(c)
	}
}

// hashChunk writes b into h; b may be a mapping, and a fault reading it
// (the file shrank under the mapping) is returned as ErrChanged.
func hashChunk(h hash.Hash, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if !IsFault(r) {
				panic(r)
			}
			err = ErrChanged
		}
	}()
	h.Write(b)
	return nil
}

// IsFault tells whether r, a value recovered from a panic in a goroutine
// that called debug.SetPanicOnFault(true), is a memory fault: what
// reading a mapping of a file that shrank under it gives.
func IsFault(r any) bool {
	_, ok := r.(interface{ Addr() uintptr })
	return ok
}

// sum returns the hash of the bytes handed out so far. With
// modeHashAhead it ends the hashing goroutine first: call it only once no
// more chunks will be read.
func (s *stream) sum() []byte {
	if s.mode == modeHashAhead {
		s.stop()
	}
	if s.h == nil || s.herr != nil {
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
				if s.f != nil {
					unmapChunk(c)
				} else {
					chunkPool.Put(c)
				}
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
