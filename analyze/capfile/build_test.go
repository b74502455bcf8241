package capfile_test

import (
	"bytes"
	"encoding/binary"
)

// Helpers that build small captures in memory for the tests.

type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// rec is one pcap record.
type rec struct {
	sec, frac uint32
	data      []byte
	origLen   uint32 // 0: len(data)
	capLen    uint32 // 0: len(data); set to lie about the length
}

type pcapOpts struct {
	be           bool
	nsec         bool
	major, minor uint16 // 0: 2.4
	snaplen      uint32
	network      uint32
}

func pcapFile(o pcapOpts, recs ...rec) []byte {
	var bo order = binary.LittleEndian
	if o.be {
		bo = binary.BigEndian
	}
	magic := uint32(0xa1b2c3d4)
	if o.nsec {
		magic = 0xa1b23c4d
	}
	if o.major == 0 {
		o.major, o.minor = 2, 4
	}
	var b []byte
	b = bo.AppendUint32(b, magic)
	b = bo.AppendUint16(b, o.major)
	b = bo.AppendUint16(b, o.minor)
	b = bo.AppendUint32(b, 0) // thiszone
	b = bo.AppendUint32(b, 0) // sigfigs
	b = bo.AppendUint32(b, o.snaplen)
	b = bo.AppendUint32(b, o.network)
	for _, r := range recs {
		cl, ol := uint32(len(r.data)), uint32(len(r.data))
		if r.capLen != 0 {
			cl = r.capLen
		}
		if r.origLen != 0 {
			ol = r.origLen
		}
		b = bo.AppendUint32(b, r.sec)
		b = bo.AppendUint32(b, r.frac)
		b = bo.AppendUint32(b, cl)
		b = bo.AppendUint32(b, ol)
		b = append(b, r.data...)
	}
	return b
}

// ng builds a pcapng file block by block.
type ng struct {
	bo  order
	buf bytes.Buffer
}

func newNG(be bool) *ng {
	n := &ng{bo: binary.LittleEndian}
	if be {
		n.bo = binary.BigEndian
	}
	return n
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// block appends a block with the given body (padded to 4).
func (n *ng) block(t uint32, body []byte) *ng {
	body = pad4(body)
	l := uint32(12 + len(body))
	var b []byte
	b = n.bo.AppendUint32(b, t)
	b = n.bo.AppendUint32(b, l)
	b = append(b, body...)
	b = n.bo.AppendUint32(b, l)
	n.buf.Write(b)
	return n
}

func (n *ng) opt(code uint16, val []byte) []byte {
	var b []byte
	b = n.bo.AppendUint16(b, code)
	b = n.bo.AppendUint16(b, uint16(len(val)))
	return pad4(append(b, val...))
}

// shb starts a section, switching to its byte order.
func (n *ng) shb(be bool) *ng {
	n.bo = binary.LittleEndian
	if be {
		n.bo = binary.BigEndian
	}
	var b []byte
	b = n.bo.AppendUint32(b, 0x1a2b3c4d)
	b = n.bo.AppendUint16(b, 1)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint64(b, ^uint64(0))
	return n.block(0x0a0d0d0a, b)
}

func (n *ng) idb(linkType uint16, snaplen uint32, opts ...[]byte) *ng {
	var b []byte
	b = n.bo.AppendUint16(b, linkType)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint32(b, snaplen)
	for _, o := range opts {
		b = append(b, o...)
	}
	if len(opts) > 0 {
		b = append(b, n.opt(0, nil)...)
	}
	return n.block(1, b)
}

func (n *ng) epb(ifid uint32, ts uint64, data []byte, opts ...[]byte) *ng {
	var b []byte
	b = n.bo.AppendUint32(b, ifid)
	b = n.bo.AppendUint32(b, uint32(ts>>32))
	b = n.bo.AppendUint32(b, uint32(ts))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = pad4(append(b, data...))
	for _, o := range opts {
		b = append(b, o...)
	}
	return n.block(6, b)
}

// pb appends an obsolete Packet Block.
func (n *ng) pb(ifid uint16, ts uint64, data []byte) *ng {
	var b []byte
	b = n.bo.AppendUint16(b, ifid)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint32(b, uint32(ts>>32))
	b = n.bo.AppendUint32(b, uint32(ts))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	return n.block(2, append(b, data...))
}

func (n *ng) spb(origLen uint32, data []byte) *ng {
	var b []byte
	b = n.bo.AppendUint32(b, origLen)
	return n.block(3, append(b, data...))
}

func (n *ng) raw(b []byte) *ng {
	n.buf.Write(b)
	return n
}

func (n *ng) bytes() []byte { return bytes.Clone(n.buf.Bytes()) }

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}
