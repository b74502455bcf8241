package correlate

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// rec is one message of a capture's table.
type rec struct {
	time        int64
	first, last uint64 // frames
	serial      uint64 // analyze Session.Serial
	key         uint64 // ESP: SPI<<32|seq; IKE: initiator SPI's high 32 bits <<32 | message ID
	tcpSeq      uint32
	tcpAck      uint32
	len         uint32
	ipid        uint16
	kind        analyze.MessageKind
	flags       uint8
}

// rec flags.
const (
	fRev       uint8 = 1 << iota // sent by the other endpoint than the session's first message
	fPartial                     // cTCP message whose end was not captured
	fDupAck                      // MessageTCP: duplicate ACK
	fKeepAlive                   // MessageTCP: keep-alive
	fRST
	fFIN
	fSYN
	fIPv4
)

// table is what correlate keeps of one capture.
type table struct {
	name  string
	c     *analyze.Capture
	recs  []rec
	first map[uint64]netip.AddrPort // session serial -> source of its first message
	byID  map[uint64]*analyze.Session
}

func (t *table) add(m *analyze.Message) {
	r := rec{time: m.Time, first: m.FirstFrame, last: m.LastFrame, serial: m.Session,
		tcpSeq: m.TCPSeq, tcpAck: m.TCPAck, len: m.Len, ipid: m.IPID, kind: m.Kind}
	src, ok := t.first[m.Session]
	if !ok {
		t.first[m.Session] = m.Src
	} else if src != m.Src {
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
	t.recs = append(t.recs, r)
}

// read analyzes one capture into a table. name is used in errors, which
// analyze makes name the file (and the frame, where known).
func read(name string, open func(analyze.Options) (*analyze.Capture, error), opts Options) (*table, error) {
	t := &table{name: name, first: map[uint64]netip.AddrPort{}}
	c, err := open(analyze.Options{Ports: opts.Ports, MaxFlows: opts.MaxFlows, NoHash: opts.NoHash, OnMessage: t.add})
	if err != nil {
		return nil, err
	}
	t.c = c
	t.byID = make(map[uint64]*analyze.Session, len(c.Sessions))
	for _, s := range c.Sessions {
		t.byID[s.Serial] = s
	}
	return t, nil
}

// dir returns the direction (in the session's orientation) of r, false
// when its session is not in the report.
func (t *table) dir(r *rec) (*analyze.Session, analyze.Dir, bool) {
	s := t.byID[r.serial]
	if s == nil {
		return nil, 0, false
	}
	src := t.first[r.serial]
	if r.flags&fRev != 0 {
		// The other endpoint of the session.
		if src == s.Client {
			return s, analyze.HeadendToClient, true
		}
		return s, analyze.ClientToHeadend, true
	}
	if src == s.Client {
		return s, analyze.ClientToHeadend, true
	}
	return s, analyze.HeadendToClient, true
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
}

// Files correlates the captures at paths a and b.
func Files(a, b string, opts Options) (*Result, error) {
	ta, err := read(a, func(o analyze.Options) (*analyze.Capture, error) { return analyze.File(a, o) }, opts)
	if err != nil {
		return nil, err
	}
	tb, err := read(b, func(o analyze.Options) (*analyze.Capture, error) { return analyze.File(b, o) }, opts)
	if err != nil {
		return nil, err
	}
	return correlate(ta, tb, opts), nil
}

// Readers correlates the captures read from ra and rb, named nameA and
// nameB in the result and in errors.
func Readers(ra io.Reader, nameA string, rb io.Reader, nameB string, opts Options) (*Result, error) {
	if ra == nil || rb == nil {
		return nil, fmt.Errorf("correlate: two captures are needed")
	}
	ta, err := read(nameA, func(o analyze.Options) (*analyze.Capture, error) { return analyze.Reader(ra, nameA, o) }, opts)
	if err != nil {
		return nil, err
	}
	tb, err := read(nameB, func(o analyze.Options) (*analyze.Capture, error) { return analyze.Reader(rb, nameB, o) }, opts)
	if err != nil {
		return nil, err
	}
	return correlate(ta, tb, opts), nil
}
