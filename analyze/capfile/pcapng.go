package capfile

import (
	"io"
	"math/bits"
)

// pcapng block types and sizes (draft-ietf-opsawg-pcapng).
const (
	blockSHB            = 0x0a0d0d0a
	blockIDB            = 0x00000001
	blockPB             = 0x00000002 // obsolete Packet Block
	blockSPB            = 0x00000003
	blockEPB            = 0x00000006
	blockSystemdJournal = 0x00000009
	blockSysdigEvent    = 0x00000204
	blockSysdigEventV2  = 0x00000216
	blockCustomCopy     = 0x00000bad
	blockCustomNoCopy   = 0x40000bad

	minBlock = 12 // type, length, trailing length
	minSHB   = 28
	minIDB   = 20
	minEPB   = 32
	minPB    = 32
	minSPB   = 16

	// maxBlock bounds any block: the largest record plus room for options.
	maxBlock = MaxRecord + 1<<20

	optEndOfOpt = 0
	optIfFilter = 11
	optTSResol  = 9
	optTSOffset = 14
	optEPBFlags = 2
	optEPBHash  = 3
	optEPBDrops = 4
)

// iface is what a pcapng interface description block says about the
// packets of its interface.
type iface struct {
	linkType uint16
	snaplen  uint32
	units    uint64 // timestamp units per second (if_tsresol)
	tsresol  byte   // the if_tsresol value, 0 when the option is absent
	offset   int64  // if_tsoffset, in nanoseconds
	global   int    // index across all sections
	opts     []byte // its options (a copy)
}

// time converts a pcapng timestamp to nanoseconds since the epoch.
func (f *iface) time(ts uint64) int64 {
	sec, frac := ts/f.units, ts%f.units
	var ns uint64
	switch f.units {
	case 1e6:
		ns = frac * 1000
	case 1e9:
		ns = frac
	default:
		hi, lo := bits.Mul64(frac, 1e9)
		ns, _ = bits.Div64(hi, lo, f.units) // hi < units since frac < units
	}
	return int64(sec)*1e9 + int64(ns) + f.offset
}

func round4(n uint64) uint64 { return (n + 3) &^ 3 }

// initPcapng reads the first section header block.
func (s *Source) initPcapng() error {
	s.kind = kindPcapng
	s.format = "pcapng"
	return s.readSHB(true)
}

// readSHB reads a section header block at the current position and starts
// a new section: byte order from the block, interface list emptied.
//
// Like tshark, a block total length that is not a multiple of 4 is
// rounded up rather than refused (some writers leave the padding out).
func (s *Source) readSHB(first bool) error {
	h, err := s.w.need(12)
	if err != nil {
		return s.streamErr(err, "truncated section header block")
	}
	switch {
	case h[8] == 0x1a && h[9] == 0x2b && h[10] == 0x3c && h[11] == 0x4d:
		s.be = true
	case h[8] == 0x4d && h[9] == 0x3c && h[10] == 0x2b && h[11] == 0x1a:
		s.be = false
	default:
		if first {
			return ErrNotCapture
		}
		return errorf(ErrCorrupt, "section header block with unknown byte-order magic")
	}
	blen := round4(uint64(s.u32(h[4:])))
	if blen < minSHB {
		return errorf(ErrCorrupt, "section header block length %d is less than the minimum %d", blen, minSHB)
	}
	if blen > maxBlock {
		return errorf(ErrCorrupt, "section header block length %d is too large", blen)
	}
	b, err := s.w.need(int(blen))
	if err != nil {
		return s.streamErr(err, "truncated section header block")
	}
	major, minor := s.u16(b[12:]), s.u16(b[14:])
	if major != 1 || minor != 0 && minor != 2 {
		return errorf(ErrUnsupported, "pcapng version %d.%d not supported", major, minor)
	}
	opts := b[24 : blen-4]
	all := opts
	for len(opts) > 0 {
		if _, _, opts, err = s.nextOption(opts); err != nil {
			return err
		}
	}
	if err := s.checkTrailer(b); err != nil {
		return err
	}
	s.shbOpts = append(s.shbOpts[:0], all...)
	s.w.skip(int(blen))
	s.ifaceBase += len(s.ifaces)
	s.ifaces = s.ifaces[:0]
	return nil
}

// checkTrailer compares a block's trailing length with its leading one.
func (s *Source) checkTrailer(b []byte) error {
	first := round4(uint64(s.u32(b[4:])))
	second := round4(uint64(s.u32(b[len(b)-4:])))
	if first != second {
		return errorf(ErrCorrupt, "block lengths disagree (first %d, second %d)", first, second)
	}
	return nil
}

// nextOption splits the first option off an option list, checking that it
// fits; after opt_endofopt the rest is ignored, as tshark does.
func (s *Source) nextOption(b []byte) (code uint16, val, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, errorf(ErrCorrupt, "not enough data for an option header")
	}
	code = s.u16(b)
	l := uint64(s.u16(b[2:]))
	if round4(l) > uint64(len(b)-4) {
		return 0, nil, nil, errorf(ErrCorrupt, "option %d of length %d runs past the end of its block", code, l)
	}
	val, rest = b[4:4+l], b[4+round4(l):]
	switch code {
	case optEndOfOpt:
		rest = nil
	case 2988, 2989, 19372, 19373: // custom options start with a PEN
		if l < 4 {
			return 0, nil, nil, errorf(ErrCorrupt, "custom option of length %d is too short", l)
		}
	}
	return code, val, rest, nil
}

// nextPcapng reads blocks until it has a packet.
func (s *Source) nextPcapng() bool {
	for {
		off := s.w.offset()
		h, err := s.w.need(8)
		if err != nil {
			if len(h) == 0 && err == io.EOF {
				return false
			}
			s.fail(off, s.streamErr(err, "truncated block header"))
			return false
		}
		btype := s.u32(h)
		if btype == blockSHB {
			if err := s.readSHB(false); err != nil {
				s.fail(off, err)
				return false
			}
			continue
		}
		blen := round4(uint64(s.u32(h[4:])))
		if blen < minBlock {
			s.fail(off, errorf(ErrCorrupt, "block length %d is smaller than a block header", blen))
			return false
		}
		if blen > maxBlock {
			s.fail(off, errorf(ErrCorrupt, "block length %d is too large", blen))
			return false
		}
		switch btype {
		case blockIDB, blockEPB, blockPB, blockSPB:
			b, err := s.w.need(int(blen))
			if err != nil {
				s.fail(off, s.streamErr(err, "truncated block"))
				return false
			}
			if err := s.checkTrailer(b); err != nil {
				s.fail(off, err)
				return false
			}
			if btype == blockIDB {
				if err := s.readIDB(b); err != nil {
					s.fail(off, err)
					return false
				}
				s.w.skip(len(b))
				continue
			}
			if err := s.readPacket(btype, b); err != nil {
				s.fail(off, err)
				return false
			}
			s.w.skip(len(b))
			return true
		default:
			// Other blocks (name resolution, statistics, secrets,
			// custom, unknown) carry no packet. tshark does show the
			// custom, systemd journal and sysdig event blocks as
			// frames, so they use up a frame number to keep frame
			// numbers equal to Wireshark's.
			s.w.skip(8)
			if err := s.w.discard(int64(blen) - 12); err != nil {
				s.fail(off, s.streamErr(err, "truncated block"))
				return false
			}
			t, err := s.w.need(4)
			if err != nil {
				s.fail(off, s.streamErr(err, "truncated block"))
				return false
			}
			if second := round4(uint64(s.u32(t))); second != blen {
				s.fail(off, errorf(ErrCorrupt, "block lengths disagree (first %d, second %d)", blen, second))
				return false
			}
			s.w.skip(4)
			switch btype {
			case blockCustomCopy, blockCustomNoCopy, blockSystemdJournal,
				blockSysdigEvent, blockSysdigEventV2:
				s.frame++
			}
		}
	}
}

// readIDB adds the interface an interface description block describes.
func (s *Source) readIDB(b []byte) error {
	if len(b) < minIDB {
		return errorf(ErrCorrupt, "interface description block length %d is less than the minimum %d", len(b), minIDB)
	}
	f := iface{
		linkType: s.u16(b[8:]),
		snaplen:  s.u32(b[12:]),
		units:    1e6,
		global:   s.ifaceBase + len(s.ifaces),
	}
	opts := b[16 : len(b)-4]
	if len(opts) > 0 {
		f.opts = append([]byte(nil), opts...)
	}
	for len(opts) > 0 {
		code, val, rest, err := s.nextOption(opts)
		if err != nil {
			return err
		}
		opts = rest
		switch code {
		case optTSResol:
			if len(val) == 1 {
				f.units = tsUnits(val[0])
				f.tsresol = val[0]
			}
		case optTSOffset:
			if len(val) == 8 {
				f.offset = int64(s.u64(val)) * 1e9
			}
		case optIfFilter:
			if len(val) < 1 {
				return errorf(ErrCorrupt, "interface filter option is empty")
			}
		}
	}
	s.ifaces = append(s.ifaces, f)
	return nil
}

// tsUnits returns the timestamp units per second an if_tsresol value
// gives; out-of-range exponents give the largest value, as in tshark.
func tsUnits(v byte) uint64 {
	base, exp := uint64(10), uint(v&0x7f)
	if v&0x80 != 0 {
		base = 2
	}
	if base == 2 && exp >= 64 || base == 10 && exp >= 20 {
		return ^uint64(0)
	}
	u := uint64(1)
	for i := uint(0); i < exp; i++ {
		u *= base
	}
	return u
}

// readPacket fills in the current frame from an EPB, PB or SPB.
func (s *Source) readPacket(btype uint32, b []byte) error {
	blen := uint64(len(b))
	var (
		ifid            uint32
		ts              uint64
		caplen, origlen uint32
		hdr             uint64
	)
	switch btype {
	case blockEPB, blockPB:
		hdr = 28
		if blen < minEPB {
			return errorf(ErrCorrupt, "packet block length %d is less than the minimum %d", blen, minEPB)
		}
		if btype == blockEPB {
			ifid = s.u32(b[8:])
		} else {
			ifid = uint32(s.u16(b[8:]))
		}
		ts = uint64(s.u32(b[12:]))<<32 | uint64(s.u32(b[16:]))
		caplen, origlen = s.u32(b[20:]), s.u32(b[24:])
	case blockSPB:
		hdr = 12
		if blen < minSPB {
			return errorf(ErrCorrupt, "simple packet block length %d is less than the minimum %d", blen, minSPB)
		}
		if len(s.ifaces) == 0 {
			return errorf(ErrCorrupt, "simple packet block before any interface description block")
		}
		origlen = s.u32(b[8:])
		caplen = origlen
		if sl := s.ifaces[0].snaplen; sl != 0 && caplen > sl {
			caplen = sl
		}
	}
	end := hdr + round4(uint64(caplen))
	if end+4 > blen {
		return errorf(ErrCorrupt, "block length %d is too small for %d bytes of packet data", blen, caplen)
	}
	if uint64(ifid) >= uint64(len(s.ifaces)) {
		return errorf(ErrCorrupt, "packet on interface %d, but the section has described only %d interfaces so far", ifid, len(s.ifaces))
	}
	if caplen > MaxRecord {
		return errorf(ErrCorrupt, "packet block claims %d captured bytes, more than the %d accepted", caplen, MaxRecord)
	}
	s.opts = nil
	if btype != blockSPB {
		opts := b[end : blen-4]
		s.opts = opts
		for len(opts) > 0 {
			code, val, rest, err := s.nextOption(opts)
			if err != nil {
				return err
			}
			opts = rest
			switch {
			case code == optEPBFlags && len(val) != 4:
				return errorf(ErrCorrupt, "packet flags option length %d is not 4", len(val))
			case code == optEPBHash && len(val) < 1:
				return errorf(ErrCorrupt, "packet hash option is empty")
			case code == optEPBDrops && len(val) != 8:
				return errorf(ErrCorrupt, "packet drop count option length %d is not 8", len(val))
			}
		}
	}
	f := &s.ifaces[ifid]
	var t int64
	if btype != blockSPB {
		t = f.time(ts)
	}
	s.frame++
	d := hdr + uint64(caplen)
	s.data = b[hdr:d:d]
	s.info = FrameInfo{
		Frame:    s.frame,
		Time:     t,
		CapLen:   int(caplen),
		OrigLen:  int(origlen),
		LinkType: f.linkType,
		Iface:    f.global,
	}
	return nil
}
