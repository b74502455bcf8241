package capfile

import (
	"io"
	"math"
)

// PcapWriter writes a classic pcap file (draft-ietf-opsawg-pcap):
// little-endian, version 2.4, with microsecond or nanosecond timestamps.
// It takes the same Packet as Writer; a pcap record has no interface
// number, comment or options, so a packet with any of them is refused.
//
// Output is buffered: call Flush at the end. Errors are sticky, as in
// Writer. Writing a packet does not allocate. A PcapWriter is not safe for
// concurrent use.
type PcapWriter struct {
	out
	nsec bool
}

// NewPcapWriter returns a PcapWriter that writes to w, named name in
// errors, and puts the file header for the interface i in its buffer:
// i.LinkType and i.SnapLen, and nanosecond timestamps if i.TSResol is 9
// (microseconds if it is 0 or 6). i.Name, Comment and Options must be
// empty: the pcap header has no room for them.
func NewPcapWriter(w io.Writer, name string, i Interface) *PcapWriter {
	pw := &PcapWriter{out: newOut(w, name), nsec: i.TSResol == 9}
	magic := uint32(0xa1b2c3d4)
	switch {
	case i.TSResol != 0 && i.TSResol != 6 && i.TSResol != 9:
		pw.fail(0, 0, errorf(ErrInvalid, "pcap timestamps are in microseconds or nanoseconds, not 10^-%d s", i.TSResol))
		return pw
	case i.Name != "" || i.Comment != "" || len(i.Options) > 0:
		pw.fail(0, 0, errorf(ErrInvalid, "a pcap file header has no interface name, comment or options"))
		return pw
	case pw.nsec:
		magic = 0xa1b23c4d
	}
	pw.u32(magic)
	pw.u16(2) // major version
	pw.u16(4) // minor version
	pw.u32(0) // thiszone: always 0
	pw.u32(0) // sigfigs: always 0
	pw.u32(i.SnapLen)
	pw.u32(uint32(i.LinkType))
	return pw
}

// WritePacket writes p as a pcap record: the timestamp (seconds and
// micro- or nanoseconds), the captured (len(p.Data)) and original lengths,
// and the data. A time after 2106 (past 32 bits of seconds) is refused.
func (w *PcapWriter) WritePacket(p Packet) error {
	if w.err != nil {
		return w.err
	}
	off := w.pos()
	var err error
	switch {
	case p.Iface != 0:
		err = errorf(ErrInvalid, "packet on interface %d, but a pcap file has one interface", p.Iface)
	case p.Comment != "" || len(p.Options) > 0:
		err = errorf(ErrInvalid, "a pcap record has no comment or options")
	case p.Time/1e9 > math.MaxUint32:
		err = errorf(ErrInvalid, "time %d ns is past the 32 bits of seconds of a pcap record", p.Time)
	default:
		err = checkPacket(&p)
	}
	if err != nil {
		w.fail(w.frames+1, off, err)
		return w.err
	}
	var sec, frac int64
	if p.Time > 0 {
		sec, frac = p.Time/1e9, p.Time%1e9
	}
	if !w.nsec {
		frac /= 1000
	}
	w.frames++
	h := w.next(pcapRecordLen)
	le.PutUint32(h[0:], uint32(sec))
	le.PutUint32(h[4:], uint32(frac))
	le.PutUint32(h[8:], uint32(len(p.Data)))
	le.PutUint32(h[12:], uint32(p.OrigLen))
	w.data(p.Data)
	return w.err
}
