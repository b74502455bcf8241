package capfile

import (
	"encoding/binary"
	"iter"
)

// Options returns the options of the current frame's pcapng packet block
// (draft-ietf-opsawg-pcapng, "Options"), in file order up to
// opt_endofopt, as code and value: opt_comment (OptComment) is UTF-8
// text, a custom option's value starts with its 4-byte PEN, in the
// section's byte order. Frames of pcap files and pcapng simple packet
// blocks have none. Like Data, the values alias an internal buffer and
// are valid only until the next call to Next or Close.
func (s *Source) Options() iter.Seq2[uint16, []byte] {
	return optionSeq(s.opts, s.be)
}

// SectionOptions returns the options of the current pcapng section
// header block, as Options does (none for pcap). They are valid until
// the next section starts, at a call to Next.
func (s *Source) SectionOptions() iter.Seq2[uint16, []byte] {
	var b []byte
	if s.kind == kindPcapng {
		b = s.shbOpts
	}
	return optionSeq(b, s.be)
}

// InterfaceOptions returns the options of the interface description
// block of interface i (FrameInfo.Iface), as Options does: none for pcap
// and for an interface not in the current section. They are valid until
// the next section starts.
func (s *Source) InterfaceOptions(i int) iter.Seq2[uint16, []byte] {
	var b []byte
	if j := i - s.ifaceBase; s.kind == kindPcapng && j >= 0 && j < len(s.ifaces) {
		b = s.ifaces[j].opts
	}
	return optionSeq(b, s.be)
}

// optionSeq walks an option list the reader has already checked (see
// nextOption); it stops at opt_endofopt and, defensively, at an option
// that does not fit.
func optionSeq(b []byte, be bool) iter.Seq2[uint16, []byte] {
	var bo binary.ByteOrder = binary.LittleEndian
	if be {
		bo = binary.BigEndian
	}
	return func(yield func(uint16, []byte) bool) {
		for len(b) >= 4 {
			code, l := bo.Uint16(b), int(bo.Uint16(b[2:]))
			if code == optEndOfOpt || 4+l+pad4(l) > len(b) {
				return
			}
			if !yield(code, b[4:4+l:4+l]) {
				return
			}
			b = b[4+l+pad4(l):]
		}
	}
}

// Interface describes interface i (FrameInfo.Iface) as the Writer would
// write it again: the link type, the snapshot length and the timestamp
// resolution (Interface.TSResol: 0 for microseconds without the option,
// 6 for pcap's microseconds, 9 for pcap's nanoseconds, pcapng's
// if_tsresol as it was). A pcapng resolution the Writer cannot write (a
// power of two, or finer than nanoseconds) is given as 9: the frames'
// times (FrameInfo.Time) are nanoseconds. Names, comments and other
// options are not copied (InterfaceOptions has them). ok is false for an
// interface not in the current section (pcapng) or not 0 (pcap).
func (s *Source) Interface(i int) (iface Interface, ok bool) {
	switch s.kind {
	case kindPcap:
		if i != 0 {
			return Interface{}, false
		}
		iface = Interface{LinkType: s.linkType, SnapLen: s.snaplen, TSResol: 6}
		if s.nsec {
			iface.TSResol = 9
		}
		return iface, true
	case kindPcapng:
		j := i - s.ifaceBase
		if j < 0 || j >= len(s.ifaces) {
			return Interface{}, false
		}
		f := &s.ifaces[j]
		iface = Interface{LinkType: f.linkType, SnapLen: f.snaplen, TSResol: f.tsresol}
		if f.tsresol > 9 {
			iface.TSResol = 9
		}
		return iface, true
	}
	return Interface{}, false
}
