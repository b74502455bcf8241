// Package capfile reads the frames of a packet capture file: pcap (all four
// variants: microsecond or nanosecond timestamps, either byte order) and
// pcapng, optionally wrapped in gzip or zstd. It hands out each frame's
// bytes, timestamp, lengths and link type, numbered exactly as Wireshark
// numbers them, and nothing else: decoding is the caller's job. It also
// writes pcap and pcapng files, the one writer of the project (see
// Writing).
//
// # Usage
//
//	src, err := capfile.Open("capture.pcapng.gz")
//	if err != nil {
//		return err // unreadable: missing, not a capture, damaged header
//	}
//	defer src.Close()
//	for src.Next() {
//		info, data := src.Info(), src.Data()
//		...
//	}
//	if err := src.Err(); err != nil {
//		// damage after the frames already returned
//	}
//
// Source is an iterator with a sticky error, like bufio.Scanner: one loop,
// one error check at the end. Data aliases an internal buffer and is valid
// until the next call to Next.
//
// # Formats
//
// The format is recognised by its magic number, never by the file name:
// 1f 8b (gzip) and 28 b5 2f fd (zstd) are unwrapped first (once; a
// compressed file inside a compressed file is refused), then a1b2c3d4 /
// a1b23c4d in either byte order select pcap with microsecond / nanosecond
// timestamps, and 0a0d0d0a selects pcapng.
//
// pcapng files may hold several sections, each in either byte order, and
// several interfaces with different link types. Enhanced, simple and the
// obsolete packet blocks give frames; if_tsresol and if_tsoffset are
// applied to timestamps, as tshark 4.0.17 does; simple packet blocks have
// no timestamp (Time 0).
// An interface description block may come after packets of other
// interfaces; a packet on an interface not described yet is an error, as
// in tshark. Other blocks are skipped; the custom, systemd journal and
// sysdig event blocks, which tshark shows as frames, use up a frame number
// so that FrameInfo.Frame stays equal to Wireshark's frame.number (frame
// numbers then have gaps; Source.Frames counts them all).
//
// pcap files of version 2.0 to 2.2 (and some 2.3) have the captured and
// original lengths swapped in their record headers; they are read the way
// libpcap and tshark read them. Link types are passed on as they are,
// including ones tshark does not know.
//
// # Errors
//
// Every error is an *InputError giving the file name, the 1-based number
// of the frame being read and the byte offset (in the uncompressed
// stream) of the damaged header, block or record, around one of the
// sentinels ErrEmpty, ErrNotCapture, ErrTruncated, ErrCorrupt and
// ErrUnsupported (or an I/O error). A damaged file header makes Open/New
// fail; damage later ends the iteration after every good frame before it
// has been returned, and Err reports it. The checks follow tshark 4.0's
// wiretap so that the frame counts agree: for example a pcapng block
// length that is not a multiple of 4 is rounded up, not refused, while
// lengths that disagree or options that overrun their block are errors.
//
// No length field is trusted for allocation: records above MaxRecord are
// refused, and the read buffer grows only as data actually arrives, so a
// lying length costs at most about twice the input's real size.
//
// # Writing
//
// Writer writes pcapng (draft-ietf-opsawg-pcapng): one little-endian
// section header block with optional comment, hardware, OS and
// application options; interface description blocks with link type,
// snaplen, if_tsresol (microseconds or nanoseconds, or left out), name and
// comment; enhanced packet blocks with optional comments and options (the
// custom ones with their Private Enterprise Number); custom blocks, which
// use up a frame number as they do when read. PcapWriter writes classic
// pcap, little-endian, in microseconds or nanoseconds. Both take a Packet
// (timestamp in nanoseconds as FrameInfo.Time, original length, data,
// comment, options), write exactly the bytes asked for (no snaplen cut, no
// option added), buffer their output (Flush at the end) and do not
// allocate per packet; neither keeps a Packet's slices after the call.
//
//	w := capfile.NewWriter(f, "evidence.pcapng", capfile.Section{Comment: "case 42"})
//	id, _ := w.AddInterface(capfile.Interface{LinkType: 1, TSResol: 9})
//	w.WritePacket(capfile.Packet{Iface: id, Time: t, OrigLen: n, Data: b, Comment: "dup ACK"})
//	if err := w.Flush(); err != nil { ... }
//
// Errors are sticky: the first one stops the writer, and every later
// call, Flush and Err return it. It is a *WriteError giving the output's
// name, the frame being written and the byte offset, around an I/O error
// or ErrInvalid (a packet on an interface never described, an option
// longer than 65535 bytes, a record a reader would refuse). A refused
// block is found before its first byte is buffered, so Flush then still
// writes a complete file of the blocks before it.
//
// Source gives back what the writers write: the options of the current
// frame's packet block (Options), of the section header (SectionOptions)
// and of each interface (InterfaceOptions).
//
// # Why not gopacket's pcapgo
//
// gopacket v1.1.19, which the decoder uses (docs/design.md,
// "Dependencies"), has a capture reader, pcapgo. It does not meet this
// package's contract: it cannot report byte offsets, its pcapng reader
// wants the interface description block before the first packet and does
// not number frames across non-packet records, its errors are untyped
// capitalised strings without position, and it neither unwraps zstd nor
// hashes the input. The formats are small, so this package has its own
// readers; they are also faster (one buffer, zero-copy records, no
// allocation per packet). pcapgo's NgWriter cannot write the files this
// project needs either: it always writes if_tsresol 9, has no packet
// comments or options and no custom blocks, refuses a captured length
// above the original one (which damaged captures have and their copies
// keep), and takes time.Time rather than the reader's timestamps.
//
// # Integrity and performance
//
// SHA256 and Size describe the input as stored (compressed bytes for a
// compressed file): every byte read is hashed, and when reading stops
// early the rest of the input is read into the hash too. Reading uses one
// 1 MiB buffer per stream; a record that lies inside the buffer is handed
// out in place, and the per-frame path does not allocate.
package capfile
