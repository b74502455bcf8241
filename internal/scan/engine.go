package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/pipeline"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// Defaults of Options.
const (
	// DefaultBufferLimit is the largest tar entry read into memory and
	// handed to a worker; larger ones are streamed through a pipe.
	DefaultBufferLimit = 64 << 20
	// DefaultZipInMemoryLimit is the largest zip inside another archive
	// that is read into memory to be scanned; larger ones are skipped.
	DefaultZipInMemoryLimit = 256 << 20
	// MaxDepth is how deep archives inside archives are opened.
	MaxDepth = 4
)

// Shard selects the part of the inputs one of N cooperating scans takes:
// K from 1 to N. The zero Shard takes everything.
type Shard struct{ K, N int }

// ParseShard parses "K/N" (1 <= K <= N).
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("invalid shard %q: want K/N with 1 <= K <= N", s)
	}
	return Shard{K: k, N: n}, nil
}

// Has reports whether the printed path belongs to the shard: FNV-1a 64
// of the path, modulo N, equals K-1.
func (s Shard) Has(path string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	io.WriteString(h, path)
	return h.Sum64()%uint64(s.N) == uint64(s.K-1)
}

// Options configure Scan.
type Options struct {
	// Jobs is the number of captures analyzed at a time (0: the number of
	// CPUs).
	Jobs int
	// Analyze, Detect and Tool are the options of every capture's report,
	// built by internal/pipeline as "ctcpdiag analyze" builds it (no
	// graphs, real addresses).
	Analyze analyze.Options
	Detect  detect.Config
	Tool    report.Tool
	// Shard restricts the scan to one shard.
	Shard Shard
	// BufferLimit and ZipInMemoryLimit bound the memory of archive
	// reading (0: the defaults); see the package documentation.
	BufferLimit, ZipInMemoryLimit int64
	// Progress, when set, is redrawn about ten times a second and cleared
	// before each Write and at the end. Scan is its only user meanwhile.
	Progress *Progress
}

// Writer receives the results of a scan, in order, from one goroutine.
type Writer interface {
	// Write outputs one result.
	Write(r *Result) error
	// Finish outputs the end of the output (the summary, for text).
	Finish(s *Summary) error
}

// errInterrupted is returned by the readers of a scan once it is stopped.
var errInterrupted = errors.New("scan interrupted")

// Scan scans paths and writes the results to w in order (see the package
// documentation). It returns the summary of what was written. A canceled
// ctx stops the scan: no new input is started, the running analyses are
// abandoned, the results already complete are written (in order) and the
// summary is marked Interrupted. The error is a malformed pattern in paths
// (nothing is scanned) or w's first error (the scan stops). Scan does not
// call w.Finish.
func Scan(ctx context.Context, paths []string, opts Options, w Writer) (*Summary, error) {
	units, err := expand(paths)
	if err != nil {
		return nil, err
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.BufferLimit <= 0 {
		opts.BufferLimit = DefaultBufferLimit
	}
	if opts.ZipInMemoryLimit <= 0 {
		opts.ZipInMemoryLimit = DefaultZipInMemoryLimit
	}
	e := &engine{
		opts:  opts,
		popts: pipeline.Options{Analyze: opts.Analyze, Detect: opts.Detect, Tool: opts.Tool},
		units: units,
		// Queues let the feeder, the workers and the collector run
		// without waking one another for every small capture (about 8 %
		// of a scan of 2,000 small files); slots still bounds the
		// buffered tar entries.
		jobs:  make(chan *job, opts.Jobs),
		msgs:  make(chan msg, 4*opts.Jobs+64),
		bufs:  make(chan []byte, opts.Jobs+1),
		slots: make(chan struct{}, opts.Jobs+1),
		done:  make(chan struct{}),
	}
	for _, u := range units {
		switch u.kind {
		case unitFile, unitStatic:
			if opts.Shard.Has(u.path) {
				e.total.Add(1)
				e.bytesTotal += u.size
			}
		default:
			e.bytesTotal += u.size
			e.archivesLeft.Add(1)
		}
	}
	stopWatch := context.AfterFunc(ctx, e.halt)
	defer stopWatch()

	var wg sync.WaitGroup
	for range opts.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.work()
		}()
	}
	go func() {
		e.feed()
		close(e.jobs)
		wg.Wait()
		close(e.msgs)
	}()
	return e.collect(w)
}

// engine is the state of one Scan.
type engine struct {
	opts  Options
	popts pipeline.Options // what every capture's report is built with
	units []unit
	jobs  chan *job
	msgs  chan msg
	bufs  chan []byte
	slots chan struct{} // one per tar entry buffer in use
	// stop is set, and done closed, by halt: when the scan is interrupted
	// or the output failed.
	stop     atomic.Bool
	done     chan struct{}
	stopOnce sync.Once

	// Progress counters.
	total        atomic.Int64 // results known so far (in the shard)
	archivesLeft atomic.Int64 // archives not yet read through
	bytesDone    atomic.Int64
	bytesTotal   int64
	notScanned   atomic.Int64
}

// msg goes from the feeder and the workers to the collector: one result
// (res) or interruption of an item, or the end of a unit (end, with the
// number of items in seq).
type msg struct {
	unit, seq   int
	res         *Result
	interrupted bool
	end         bool
}

// job is one capture for a worker: exactly one of file, data, zf, pipe.
type job struct {
	unit, seq int
	path      string
	explicit  bool

	file string    // a file to open
	data []byte    // a tar entry read into a pooled buffer
	zf   *zip.File // a zip entry
	pipe io.Reader // a large tar entry streamed by the feeder
	size int64     // expected size (pipe)
	pr   *io.PipeReader
	wg   *sync.WaitGroup // Done when the job ends (zip entries)
}

func (e *engine) stopped() bool { return e.stop.Load() }

// halt stops the scan (interruption or output error).
func (e *engine) halt() {
	e.stopOnce.Do(func() {
		e.stop.Store(true)
		close(e.done)
	})
}

// submit hands j to a worker; false when the scan stopped first.
func (e *engine) submit(j *job) bool {
	if e.stopped() {
		return false
	}
	select {
	case e.jobs <- j:
		return true
	case <-e.done:
		return false
	}
}

// emit sends a result the feeder decided itself.
func (e *engine) emit(u int, seq *int, r *Result) {
	if !e.opts.Shard.Has(r.Path) {
		return
	}
	e.msgs <- msg{unit: u, seq: *seq, res: r}
	*seq++
}

// feed reads the units in order and hands out the work.
func (e *engine) feed() {
	for i := range e.units {
		u := &e.units[i]
		seq := 0
		if e.stopped() {
			if u.kind != unitStatic {
				e.notScanned.Add(1)
			}
			continue
		}
		switch u.kind {
		case unitStatic:
			r := *u.static
			e.emit(i, &seq, &r)
		case unitFile:
			if e.opts.Shard.Has(u.path) {
				if e.submit(&job{unit: i, seq: 0, path: u.path, explicit: u.explicit, file: u.path}) {
					seq++
				} else {
					e.notScanned.Add(1)
				}
			}
		case unitTar, unitZip:
			e.feedArchive(i, u, &seq)
			e.archivesLeft.Add(-1)
		}
		e.msgs <- msg{unit: i, seq: seq, end: true}
	}
}

// feedArchive reads a top-level archive.
func (e *engine) feedArchive(i int, u *unit, seq *int) {
	fail := func(err error) {
		if !errors.Is(err, errInterrupted) {
			e.emit(i, seq, &Result{Path: u.path, Kind: KindUnreadable, Error: err.Error()})
		}
	}
	f, err := os.Open(u.path)
	if err != nil {
		fail(errors.New(statError(u.path, err)))
		return
	}
	defer f.Close()
	if u.kind == unitZip {
		zr, err := zip.NewReader(f, u.size)
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			fail(fmt.Errorf("reading the zip archive: %v", err))
			return
		}
		var wg sync.WaitGroup
		n := e.feedZip(i, zr, u.path, 1, seq, &wg)
		// The file must stay open until the workers have read their
		// entries.
		wg.Wait()
		e.bytesDone.Add(u.size - n)
		return
	}
	cr := &countReader{r: f, e: e}
	var r io.Reader = cr
	if archiveKind(u.path) == archTarGz {
		gz, err := gzip.NewReader(cr)
		if err != nil {
			fail(fmt.Errorf("reading the gzip stream: %v", err))
			return
		}
		defer gz.Close()
		r = gz
	}
	if err := e.feedTar(i, r, u.path, 1, seq); err != nil {
		fail(err)
	}
}

// feedTar reads a tar stream; prefix is the printed path of the archive.
func (e *engine) feedTar(u int, r io.Reader, prefix string, depth int, seq *int) error {
	tr := tar.NewReader(r)
	for entries := 0; ; entries++ {
		if e.stopped() {
			return errInterrupted
		}
		h, err := tr.Next()
		if err == io.EOF {
			if entries == 0 {
				e.emit(u, seq, &Result{Path: prefix, Kind: KindSkipped, Reason: "empty archive"})
			}
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			if errors.Is(err, errInterrupted) {
				return err
			}
			if entries == 0 {
				return fmt.Errorf("reading the tar archive: %v", err)
			}
			return fmt.Errorf("reading the tar archive after %d entries: %v", entries, err)
		}
		name := prefix + ":" + h.Name
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg, tar.TypeGNUSparse, '\x00':
		default:
			e.emit(u, seq, &Result{Path: name, Kind: KindSkipped, Reason: "not a regular file"})
			continue
		}
		if k := archiveKind(h.Name); k != archNone {
			if err := e.nested(u, k, tr, h.Size, name, depth, seq); err != nil {
				if errors.Is(err, errInterrupted) {
					return err
				}
				e.emit(u, seq, &Result{Path: name, Kind: KindUnreadable, Error: err.Error()})
			}
			continue
		}
		if !e.opts.Shard.Has(name) {
			continue
		}
		if h.Size <= e.opts.BufferLimit {
			buf, ok := e.getBuf(h.Size)
			if !ok {
				return errInterrupted
			}
			n, err := io.ReadFull(tr, buf)
			if errors.Is(err, errInterrupted) {
				e.putBuf(buf)
				return err
			}
			// A damaged stream gives a short entry: it is analyzed up to
			// the damage, and the next call to Next reports the damage.
			if e.submit(&job{unit: u, seq: *seq, path: name, data: buf[:n]}) {
				*seq++
			} else {
				e.putBuf(buf)
				e.notScanned.Add(1)
			}
			continue
		}
		pr, pw := io.Pipe()
		if !e.submit(&job{unit: u, seq: *seq, path: name, pipe: pr, pr: pr, size: h.Size}) {
			e.notScanned.Add(1)
			return errInterrupted
		}
		*seq++
		_, err = io.Copy(pw, tr)
		pw.CloseWithError(err)
		if errors.Is(err, errInterrupted) {
			return err
		}
	}
}

// nested feeds an archive found inside another one, read from r (size
// bytes).
func (e *engine) nested(u int, k archKind, r io.Reader, size int64, name string, depth int, seq *int) error {
	if depth >= MaxDepth {
		e.emit(u, seq, &Result{Path: name, Kind: KindSkipped, Reason: "archive nested too deep"})
		return nil
	}
	switch k {
	case archTar:
		return e.feedTar(u, r, name, depth+1, seq)
	case archTarGz:
		gz, err := gzip.NewReader(r)
		if err != nil {
			if errors.Is(err, errInterrupted) {
				return err
			}
			return fmt.Errorf("reading the gzip stream: %v", err)
		}
		defer gz.Close()
		return e.feedTar(u, gz, name, depth+1, seq)
	}
	if size > e.opts.ZipInMemoryLimit {
		e.emit(u, seq, &Result{Path: name, Kind: KindSkipped,
			Reason: fmt.Sprintf("zip inside an archive larger than %d MiB", e.opts.ZipInMemoryLimit>>20)})
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		if errors.Is(err, errInterrupted) {
			return err
		}
		return fmt.Errorf("reading the zip archive: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("reading the zip archive: %v", err)
	}
	var wg sync.WaitGroup
	e.feedZip(u, zr, name, depth+1, seq, &wg)
	// Bound memory: one in-memory zip at a time.
	wg.Wait()
	return nil
}

// feedZip hands out the entries of a zip archive; wg counts the jobs that
// still read from it. It returns the compressed bytes of the entries
// handed out (their workers count them as done).
func (e *engine) feedZip(u int, zr *zip.Reader, prefix string, depth int, seq *int, wg *sync.WaitGroup) int64 {
	var handed int64
	for _, f := range zr.File {
		if e.stopped() {
			return handed
		}
		name := prefix + ":" + f.Name
		if strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			continue
		}
		if !f.Mode().IsRegular() {
			e.emit(u, seq, &Result{Path: name, Kind: KindSkipped, Reason: "not a regular file"})
			continue
		}
		if k := archiveKind(f.Name); k != archNone {
			err := func() error {
				rc, err := f.Open()
				if err != nil {
					return fmt.Errorf("reading the zip entry: %v", err)
				}
				defer rc.Close()
				return e.nested(u, k, &stopReader{r: rc, e: e}, int64(f.UncompressedSize64), name, depth, seq)
			}()
			if err != nil && !errors.Is(err, errInterrupted) {
				e.emit(u, seq, &Result{Path: name, Kind: KindUnreadable, Error: err.Error()})
			}
			continue
		}
		if !e.opts.Shard.Has(name) {
			continue
		}
		wg.Add(1)
		if !e.submit(&job{unit: u, seq: *seq, path: name, zf: f, wg: wg}) {
			wg.Done()
			e.notScanned.Add(1)
			return handed
		}
		*seq++
		handed += int64(f.CompressedSize64)
	}
	return handed
}

// getBuf returns a buffer of n bytes for a tar entry (never nil), waiting
// while Jobs+1 are in use; false if the scan stops first.
func (e *engine) getBuf(n int64) ([]byte, bool) {
	select {
	case e.slots <- struct{}{}:
	case <-e.done:
		return nil, false
	}
	var b []byte
	select {
	case b = <-e.bufs:
	default:
	}
	if b == nil || int64(cap(b)) < n {
		b = make([]byte, n, max(n, 64<<10))
	}
	return b[:n], true
}

// putBuf gives back a buffer from getBuf.
func (e *engine) putBuf(b []byte) {
	if b == nil {
		return
	}
	<-e.slots
	select {
	case e.bufs <- b[:0]:
	default:
	}
}

// work runs jobs until there are no more.
func (e *engine) work() {
	for j := range e.jobs {
		res, interrupted := e.run(j)
		if j.data != nil {
			e.putBuf(j.data)
		}
		if j.pr != nil {
			// Let the feeder go on even if the analysis stopped early.
			j.pr.CloseWithError(errors.New("analysis ended"))
		}
		if j.zf != nil {
			e.bytesDone.Add(int64(j.zf.CompressedSize64))
		}
		if j.wg != nil {
			j.wg.Done()
		}
		e.msgs <- msg{unit: j.unit, seq: j.seq, res: res, interrupted: interrupted}
	}
}

// run analyzes one job.
func (e *engine) run(j *job) (*Result, bool) {
	var r io.Reader
	var size int64
	count := false
	switch {
	case j.file != "":
		f, err := os.Open(j.file)
		if err != nil {
			return &Result{Path: j.path, Kind: KindUnreadable, Error: statError(j.file, err)}, false
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		r, count = f, true
	case j.data != nil:
		r, size = bytes.NewReader(j.data), int64(len(j.data))
	case j.zf != nil:
		rc, err := j.zf.Open()
		if err != nil {
			return &Result{Path: j.path, Kind: KindUnreadable, Error: "reading the zip entry: " + err.Error()}, false
		}
		defer rc.Close()
		r, size = rc, int64(j.zf.UncompressedSize64)
	default:
		r, size = j.pipe, j.size
	}
	jr := &jobReader{r: r, e: e, left: size, count: count}
	// A detector that fails leaves the report unjudged, as analyze shows
	// it (Result.DetectErr); a scan has no standard error to name it on.
	out, err := pipeline.Run(pipeline.Input{Path: j.path, R: jr}, e.popts)
	if jr.interrupted {
		return nil, true
	}
	if err != nil {
		return classify(j, err), false
	}
	return &Result{Path: j.path, Kind: KindCapture, Report: out.Report}, false
}

// classify turns an analysis error into a skip (a file that is no
// capture, not named like one nor on the command line) or a failure.
func classify(j *job, err error) *Result {
	if !j.explicit && !IsCaptureName(j.path) {
		switch {
		case errors.Is(err, capfile.ErrNotCapture):
			return &Result{Path: j.path, Kind: KindSkipped, Reason: "not a capture"}
		case errors.Is(err, capfile.ErrEmpty):
			return &Result{Path: j.path, Kind: KindSkipped, Reason: "empty file"}
		}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, j.path+": ") {
		msg = msg[len(j.path)+2:]
	}
	return &Result{Path: j.path, Kind: KindUnreadable, Error: msg}
}

// jobReader reads a worker's input: it stops with errInterrupted once the
// scan is stopped, counts the bytes of top-level files for the progress
// bar, and tells capfile the expected size (Len) to size its buffer.
type jobReader struct {
	r           io.Reader
	e           *engine
	left        int64
	count       bool
	interrupted bool
}

func (j *jobReader) Read(p []byte) (int, error) {
	if j.e.stopped() {
		j.interrupted = true
		return 0, errInterrupted
	}
	n, err := j.r.Read(p)
	j.left -= int64(n)
	if j.count {
		j.e.bytesDone.Add(int64(n))
	}
	return n, err
}

// Len is the expected number of bytes left (a size hint for capfile).
func (j *jobReader) Len() int { return int(max(j.left, 0)) }

// countReader is the feeder's reader of a top-level tar archive.
type countReader struct {
	r io.Reader
	e *engine
}

func (c *countReader) Read(p []byte) (int, error) {
	if c.e.stopped() {
		return 0, errInterrupted
	}
	n, err := c.r.Read(p)
	c.e.bytesDone.Add(int64(n))
	return n, err
}

// stopReader stops with errInterrupted once the scan is stopped.
type stopReader struct {
	r io.Reader
	e *engine
}

func (s *stopReader) Read(p []byte) (int, error) {
	if s.e.stopped() {
		return 0, errInterrupted
	}
	return s.r.Read(p)
}

// pending is a result waiting for its turn.
type pending struct {
	unit, seq int
	res       *Result
}

type pendingHeap []pending

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if c := strings.Compare(a.res.Path, b.res.Path); c != 0 {
		return c < 0
	}
	if a.unit != b.unit {
		return a.unit < b.unit
	}
	return a.seq < b.seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// collect receives the results, writes them in order and keeps the
// progress bar.
func (e *engine) collect(w Writer) (*Summary, error) {
	sum := &Summary{}
	n := len(e.units)
	got := make([]int, n)
	want := make([]int, n) // -1 until the unit's end is known
	for i := range want {
		want[i] = -1
	}
	first := 0 // first unit not complete
	var h pendingHeap
	var werr error
	var done int64

	p := e.opts.Progress
	var tick <-chan time.Time
	if p != nil {
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		tick = t.C
		p.Start()
	}
	stats := func() ProgressStats {
		return ProgressStats{
			Done: done, Total: e.total.Load(), TotalKnown: e.archivesLeft.Load() == 0,
			Bytes: e.bytesDone.Load(), BytesTotal: e.bytesTotal,
		}
	}
	write := func(r *Result) {
		if werr != nil {
			return
		}
		if p != nil {
			p.Clear()
		}
		if err := w.Write(r); err != nil {
			werr = err
			e.halt()
			return
		}
		sum.Add(r)
	}
	flush := func(all bool) {
		for h.Len() > 0 {
			for first < n && want[first] >= 0 && got[first] == want[first] {
				first++
			}
			top := h[0]
			if !all && first < n {
				u := &e.units[first]
				c := strings.Compare(top.res.Path, u.lower)
				if c > 0 || c == 0 && top.unit >= first {
					break
				}
			}
			heap.Pop(&h)
			write(top.res)
		}
	}
	for {
		select {
		case m, ok := <-e.msgs:
			if !ok {
				flush(true)
				if p != nil {
					p.Clear()
				}
				sum.Interrupted = e.stop.Load() && werr == nil
				sum.NotScanned = int(e.notScanned.Load())
				return sum, werr
			}
			if m.end {
				want[m.unit] = m.seq
			} else {
				got[m.unit]++
				done++
				if m.interrupted {
					e.notScanned.Add(1)
				} else if m.res != nil {
					heap.Push(&h, pending{unit: m.unit, seq: m.seq, res: m.res})
				}
			}
			if !e.stopped() {
				flush(false)
			}
			if p != nil {
				p.Update(stats())
			}
		case <-tick:
			p.Update(stats())
		}
	}
}
