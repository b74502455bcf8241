package correlate

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// rec is one message of a capture, as the analysis hands it over: what
// correlate keeps of it while it is in flight (see "Memory" in doc.go).
type rec struct {
	time        int64
	first, last uint64 // frames
	serial      uint64 // analyze Session.Serial
	key         uint64 // ESP: SPI<<32|seq; IKE: initiator SPI's high 32 bits <<32 | message ID
	tcpSeq      uint32
	tcpAck      uint32
	ipid        uint16
	kind        analyze.MessageKind
	flags       uint8
}

// rec flags.
const (
	// fRev: sent by the endpoint that sorts last (netip.AddrPort.Compare),
	// so that a session's direction is known from the message alone,
	// without a table of sessions (mapped to the session's own
	// orientation at the end: orient).
	fRev       uint8 = 1 << iota
	fPartial         // cTCP message whose end was not captured
	fDupAck          // MessageTCP: duplicate ACK
	fKeepAlive       // MessageTCP: keep-alive
	fRST
	fFIN
	fSYN
	fIPv4
)

// newSession announces a session to the matcher: the addresses of its
// first message, for pairing plain TCP by addresses.
type newSession struct {
	serial   uint64
	src, dst netip.AddrPort
	tcp      bool
}

// batch is what a file's analysis hands the matcher at once: the hook
// runs on the analysis's hot path, so messages travel a few hundred at
// a time over a bounded channel, and batches are recycled.
type batch struct {
	recs []rec
	news []newSession
}

const (
	batchLen     = 256 // messages per batch
	batchesAhead = 4   // batches an analysis may run ahead of the matcher
)

// batches start small (a short capture needs no more) and grow by
// append to batchLen, the size they are recycled at.
var batches = sync.Pool{New: func() any { return &batch{recs: make([]rec, 0, 64)} }}

func putBatch(b *batch) {
	b.recs, b.news = b.recs[:0], b.news[:0]
	batches.Put(b)
}

// errCanceled stops an analysis whose partner failed: analyze has no
// cancellation, so the hook panics with it and the producer recovers it
// (analyze re-panics what is not a memory fault, after its deferred
// calls closed the file).
var errCanceled = errors.New("correlate: canceled")

// producer runs one file's analysis and sends its messages to the
// matcher.
type producer struct {
	name   string
	b      *batch
	out    chan *batch
	stop   <-chan struct{}
	cancel func()
	// read is the file's analyze.Options.Read (nil: none).
	read *atomic.Int64
	// announced caches the serials already announced (direct-mapped, so
	// that it stays bounded whatever the number of sessions; a session
	// pushed out is announced again, which the matcher ignores).
	announced [256]uint64
	// Set before out is closed.
	c   *analyze.Capture
	err error
}

func (p *producer) hook(m *analyze.Message) {
	r := rec{time: m.Time, first: m.FirstFrame, last: m.LastFrame, serial: m.Session,
		tcpSeq: m.TCPSeq, tcpAck: m.TCPAck, ipid: m.IPID, kind: m.Kind}
	if m.Src.Compare(m.Dst) >= 0 {
		r.flags |= fRev
	}
	if m.Src.Addr().Unmap().Is4() {
		r.flags |= fIPv4
	}
	switch m.Kind {
	case analyze.MessageESP:
		r.key = uint64(m.SPI)<<32 | uint64(m.Seq)
		if m.Partial {
			r.flags |= fPartial
		}
	case analyze.MessageIKE:
		if !m.HasIKE {
			return
		}
		r.key = m.ISPI&^0xffffffff | uint64(m.MsgID)
	case analyze.MessageData:
		// A pairing key only (merger.addData): never queued or counted.
		r.key = m.DataHash
	case analyze.MessageTCP:
		const syn, fin, rst = 2, 1, 4 // decode.Flag* bits
		if m.DupAck {
			r.flags |= fDupAck
		}
		if m.KeepAlive {
			r.flags |= fKeepAlive
		}
		if m.TCPFlags&rst != 0 {
			r.flags |= fRST
		}
		if m.TCPFlags&fin != 0 {
			r.flags |= fFIN
		}
		if m.TCPFlags&syn != 0 {
			r.flags |= fSYN
		}
	default:
		return
	}
	b := p.b
	if a := &p.announced[m.Session%uint64(len(p.announced))]; *a != m.Session+1 {
		*a = m.Session + 1
		b.news = append(b.news, newSession{serial: m.Session, src: m.Src, dst: m.Dst,
			tcp: m.Carrier == analyze.TransportCTCP || m.Kind == analyze.MessageTCP})
	}
	b.recs = append(b.recs, r)
	if len(b.recs) == batchLen || len(b.news) == batchLen {
		p.flush()
	}
}

// flush sends the current batch, or stops the analysis if the matcher
// gave up.
func (p *producer) flush() {
	select {
	case p.out <- p.b:
	case <-p.stop:
		panic(errCanceled)
	}
	p.b = batches.Get().(*batch)
}

func (p *producer) run(open func(analyze.Options) (*analyze.Capture, error), opts Options) {
	defer close(p.out)
	defer func() {
		if r := recover(); r != nil {
			if r != errCanceled {
				panic(r)
			}
			p.c, p.err = nil, errCanceled
		}
	}()
	p.b = batches.Get().(*batch)
	c, err := open(analyze.Options{Ports: opts.Ports, MaxFlows: opts.MaxFlows, NoHash: opts.NoHash, OnMessage: p.hook, Read: p.read})
	if err != nil {
		if errors.Is(err, errCanceled) {
			// The other file failed: its reader was stopped.
			err = errCanceled
		}
		p.err = err
		p.cancel()
		return
	}
	if len(p.b.recs)+len(p.b.news) > 0 {
		p.flush()
	}
	p.c = c
}

// stopReader ends a reader's input once the correlation gave up, so that
// an analysis of a partner of a failed file stops even where it meets no
// message.
type stopReader struct {
	r    io.Reader
	stop <-chan struct{}
}

func (s stopReader) Read(b []byte) (int, error) {
	select {
	case <-s.stop:
		return 0, errCanceled
	default:
	}
	return s.r.Read(b)
}

// Options configure a correlation.
type Options struct {
	// Ports, MaxFlows and NoHash are passed to analyze for each file.
	Ports    []uint16
	MaxFlows int
	NoHash   bool
	// MaxListed caps the lists of a result (lost messages, frames of
	// generated packets); 0: 64.
	MaxListed int
	// MaxPending caps the messages of each file held in flight (waiting
	// for their counterpart in the other file), and a quarter more IKE
	// messages; 0: DefaultMaxPending. Messages forced out by the cap are
	// not judged (Result.ForcedA, ForcedB).
	MaxPending int
	// ReadA and ReadB, when set, receive the stored bytes of file A and
	// file B read so far, once per buffer of input (analyze.Options.Read),
	// for a progress bar.
	ReadA, ReadB *atomic.Int64
}

// DefaultMaxPending is the default Options.MaxPending: about 4.5 MiB per
// file at most, IKE included (about 110 bytes a message held, its table
// entry included).
const DefaultMaxPending = 1 << 15

// Files correlates the captures at paths a and b.
func Files(a, b string, opts Options) (*Result, error) {
	return run(a, func(o analyze.Options) (*analyze.Capture, error) { return analyze.File(a, o) },
		b, func(o analyze.Options) (*analyze.Capture, error) { return analyze.File(b, o) }, opts, nil)
}

// Readers correlates the captures read from ra and rb, named nameA and
// nameB in the result and in errors.
func Readers(ra io.Reader, nameA string, rb io.Reader, nameB string, opts Options) (*Result, error) {
	if ra == nil || rb == nil {
		return nil, fmt.Errorf("correlate: two captures are needed")
	}
	stop := make(chan struct{})
	ra, rb = stopReader{ra, stop}, stopReader{rb, stop}
	return run(nameA, func(o analyze.Options) (*analyze.Capture, error) { return analyze.Reader(ra, nameA, o) },
		nameB, func(o analyze.Options) (*analyze.Capture, error) { return analyze.Reader(rb, nameB, o) }, opts, stop)
}

// run analyzes both files at once, each in its own goroutine, and
// matches their messages as they come (docs/design.md, "The pipeline":
// each file is read once). An error in either file stops the other and
// is returned; analyze's errors name the file.
func run(nameA string, openA func(analyze.Options) (*analyze.Capture, error),
	nameB string, openB func(analyze.Options) (*analyze.Capture, error), opts Options, stop chan struct{}) (*Result, error) {
	if stop == nil {
		stop = make(chan struct{})
	}
	var once sync.Once
	cancel := func() { once.Do(func() { close(stop) }) }
	m := newMerger(opts)
	for i, x := range []struct {
		name string
		open func(analyze.Options) (*analyze.Capture, error)
		read *atomic.Int64
	}{{nameA, openA, opts.ReadA}, {nameB, openB, opts.ReadB}} {
		p := &producer{name: x.name, out: make(chan *batch, batchesAhead), stop: stop, cancel: cancel, read: x.read}
		m.f[i].p = p
		go p.run(x.open, opts)
	}
	m.run()
	cancel()
	ea, eb := m.f[0].err, m.f[1].err
	switch {
	case ea != nil && ea != errCanceled:
		return nil, ea
	case eb != nil && eb != errCanceled:
		return nil, eb
	case ea != nil || eb != nil:
		return nil, fmt.Errorf("%s, %s: %w", nameA, nameB, ea)
	}
	return m.result(), nil
}
