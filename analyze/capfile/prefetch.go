package capfile

import (
	"errors"
	"hash"
	"io"
	"sync"
)

// Reading ahead on a second goroutine lets the expensive work on the raw
// bytes (SHA-256 of the stored file, gzip or zstd decompression) run on
// another core while the caller parses records: the hash of a page-cached
// file costs more CPU than parsing it.

const (
	prefetchChunk = 1 << 20 // bytes per chunk
	prefetchDepth = 4       // chunks in flight
	// prefetchMin is the stored size below which reading ahead is not
	// worth a goroutine: small files are hashed in line.
	prefetchMin = 4 << 20
)

// chunkPool recycles prefetch buffers across Sources, so that scanning
// many files does not allocate and clear megabytes per file.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, prefetchChunk); return &b }}

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// prefetcher reads r ahead on its own goroutine, in chunks, hashing each
// chunk (when h is set) before handing it over; Read returns the bytes in
// order with the reader's error after the last of them. Only the consumer
// goroutine may call Read, n, sum and stop.
type prefetcher struct {
	h    hash.Hash
	full chan chunk
	free chan *[]byte
	done chan struct{}
	exit chan struct{}
	once sync.Once

	cur chunk
	off int
	n   int64 // bytes returned by Read
}

func newPrefetcher(r io.Reader, h hash.Hash) *prefetcher {
	p := &prefetcher{
		h:    h,
		full: make(chan chunk, prefetchDepth),
		free: make(chan *[]byte, prefetchDepth+1),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	for range prefetchDepth {
		p.free <- chunkPool.Get().(*[]byte)
	}
	go p.loop(r)
	return p
}

// loop fills chunks until the reader fails or stop is called.
func (p *prefetcher) loop(r io.Reader) {
	defer close(p.exit)
	defer close(p.full)
	for {
		var b *[]byte
		select {
		case b = <-p.free:
		case <-p.done:
			return
		}
		n, err := fill(r, *b)
		if n > 0 && p.h != nil {
			p.h.Write((*b)[:n])
		}
		select {
		case p.full <- chunk{b, n, err}:
		case <-p.done:
			chunkPool.Put(b)
			return
		}
		if err != nil {
			return
		}
	}
}

// fill reads into b until it is full or r fails; a reader that returns
// neither data nor an error 100 times in a row fails with
// io.ErrNoProgress, so it cannot hang the loop.
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

func (p *prefetcher) Read(dst []byte) (int, error) {
	for p.off >= p.cur.n {
		if p.cur.err != nil {
			return 0, p.cur.err
		}
		if p.cur.buf != nil {
			p.free <- p.cur.buf
			p.cur.buf = nil
		}
		c, ok := <-p.full
		if !ok {
			p.cur = chunk{err: io.ErrClosedPipe}
			return 0, p.cur.err
		}
		p.cur, p.off = c, 0
	}
	n := copy(dst, (*p.cur.buf)[p.off:p.cur.n])
	p.off += n
	p.n += int64(n)
	return n, nil
}

// stop ends the goroutine and waits for it; the bytes not yet read are
// dropped. It is safe to call more than once.
func (p *prefetcher) stop() {
	p.once.Do(func() {
		close(p.done)
		for c := range p.full { // unblock and drain
			if c.buf != nil {
				chunkPool.Put(c.buf)
			}
		}
		<-p.exit
		if p.cur.buf != nil {
			chunkPool.Put(p.cur.buf)
			p.cur.buf = nil
		}
		for {
			select {
			case b := <-p.free:
				chunkPool.Put(b)
			default:
				return
			}
		}
	})
}
