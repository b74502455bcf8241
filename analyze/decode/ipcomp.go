package decode

import (
	"bytes"
	"errors"
	"io"

	"github.com/google/gopacket"
	"github.com/klauspost/compress/flate"
)

// maxInflate caps the inflated size of an IPComp payload: an IP packet
// holds at most 64 KiB. Output beyond it is dropped.
const maxInflate = 64 << 10

var layerTypeIPComp = gopacket.RegisterLayerType(29010, gopacket.LayerTypeMetadata{Name: "IPComp"})

// ipcompLayer decodes an IPComp header (RFC 3173: next header, flags,
// CPI) and inflates the payload as raw DEFLATE (RFC 2394) whatever the
// CPI, as Wireshark does, into a buffer the layer owns; the inflated
// bytes are then decoded as the next header says. The flate reader and
// the buffer are made on the first IPComp packet and reused afterwards.
//
// As in Wireshark, a payload cut short by the snaplen yields the bytes
// inflated before the cut; a payload that does not inflate (another
// algorithm, corrupt data, nothing inflated) leaves Proto at 108 with no
// transport. IPComp is not followed inside an ICMP error, in a fragment
// or inside an already inflated payload.
type ipcompLayer struct {
	base
	src bytes.Reader
	zr  io.ReadCloser // flate reader, implements flate.Resetter
	buf []byte        // inflated payload, maxInflate long
}

func (l *ipcompLayer) CanDecode() gopacket.LayerClass { return layerTypeIPComp }

func (l *ipcompLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	l.set(nil, gopacket.LayerTypeZero)
	if len(b) < 4 || d.inflated {
		return nil
	}
	out, ok := l.inflate(b[4:])
	if !ok {
		return nil
	}
	next := b[0]
	p := d.p
	p.Proto = next
	// From here on the layers work on the inflated bytes: they are the
	// whole reported data, and the transport's length is theirs.
	d.inflated = true
	d.rec = nil // the Layout describes the frame, not the inflated bytes
	d.frame = out
	d.repEnd = len(out)
	if p.IPVersion == 6 {
		d.ip6.repLen = len(out)
	} else {
		d.ip4.repLen = len(out)
	}
	l.set(out, d.protoNext(next))
	return nil
}

// inflate inflates in into l.buf and returns the inflated bytes, and false
// when in does not inflate.
func (l *ipcompLayer) inflate(in []byte) ([]byte, bool) {
	l.src.Reset(in)
	if l.zr == nil {
		l.zr = flate.NewReader(&l.src)
		l.buf = make([]byte, maxInflate)
	} else if err := l.zr.(flate.Resetter).Reset(&l.src, nil); err != nil {
		return nil, false
	}
	n := 0
	for n < len(l.buf) {
		m, err := l.zr.Read(l.buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// Cut short (snaplen): keep what was inflated, as
			// Wireshark does.
			if n == 0 {
				return nil, false
			}
			break
		}
		if err != nil {
			return nil, false
		}
	}
	if n == 0 {
		return nil, false
	}
	return l.buf[:n:n], true
}
