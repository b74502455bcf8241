package capfile

import (
	"encoding/binary"
	"io"
)

const (
	pcapHeaderLen = 24
	pcapRecordLen = 16
	// pcapReservedMask selects the pcap link-type field bits that must be
	// zero (libpcap's LT_RESERVED1); tshark refuses files where they are
	// not.
	pcapReservedMask = 0x03ff0000
)

// Values of Source.swapLens.
const (
	swapNever = iota
	swapAlways
	swapIfLarger
)

func (s *Source) u16(b []byte) uint16 {
	if s.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (s *Source) u32(b []byte) uint32 {
	if s.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (s *Source) u64(b []byte) uint64 {
	if s.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// initPcap reads the 24-byte pcap file header.
func (s *Source) initPcap(be, nsec bool) error {
	s.kind, s.be, s.nsec = kindPcap, be, nsec
	s.format = "pcap"
	if nsec {
		s.format = "pcap-nsec"
	}
	h, err := s.w.need(pcapHeaderLen)
	if err != nil {
		return s.streamErr(err, "truncated pcap file header")
	}
	major, minor := s.u16(h[4:]), s.u16(h[6:])
	if major < 2 {
		return errorf(ErrUnsupported, "pcap version %d.%d not supported", major, minor)
	}
	network := s.u32(h[20:])
	if network&pcapReservedMask != 0 {
		return errorf(ErrUnsupported, "pcap link-type field has reserved bits set (0x%08x)", network)
	}
	s.linkType = uint16(network)
	s.snaplen = s.u32(h[16:])
	// Before version 2.3 (and in DG/UX's 543.0) the record header had the
	// captured and original lengths the other way round; some 2.3 files
	// still do, which shows as a captured length above the original one.
	switch {
	case major == 2 && minor < 3, major == 543:
		s.swapLens = swapAlways
	case major == 2 && minor == 3:
		s.swapLens = swapIfLarger
	}
	s.w.skip(pcapHeaderLen)
	return nil
}

// nextPcap reads one pcap record. The snapshot length in the file header
// is not enforced: like tshark, a record longer than it is accepted.
func (s *Source) nextPcap() bool {
	off := s.w.offset()
	h, err := s.w.need(pcapRecordLen)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return false
		}
		s.fail(off, s.streamErr(err, "truncated packet record header"))
		return false
	}
	caplen := s.u32(h[8:])
	origlen := s.u32(h[12:])
	if s.swapLens == swapAlways || s.swapLens == swapIfLarger && caplen > origlen {
		caplen, origlen = origlen, caplen
	}
	if caplen > MaxRecord {
		s.fail(off, errorf(ErrCorrupt, "packet record claims %d captured bytes, more than the %d accepted", caplen, MaxRecord))
		return false
	}
	n := pcapRecordLen + int(caplen)
	rec, err := s.w.need(n)
	if err != nil {
		s.fail(off, s.streamErr(err, "truncated packet record"))
		return false
	}
	sec := int64(s.u32(rec[0:]))
	frac := int64(s.u32(rec[4:]))
	if !s.nsec {
		frac *= 1000
	}
	s.w.skip(n)
	s.frame++
	s.data = rec[pcapRecordLen:n:n]
	s.info = FrameInfo{
		Frame:    s.frame,
		Time:     sec*1e9 + frac,
		CapLen:   int(caplen),
		OrigLen:  int(origlen),
		LinkType: s.linkType,
	}
	return true
}
