package seq

// Near returns the 64-bit position of v closest to ref: the one whose low
// 32 bits are v, at most 2^31 below or less than 2^31 above ref. This is
// RFC 1982's rule (§3.2) applied to a 64-bit reference: v is after ref
// when it is less than half the sequence space ahead of it.
func Near(v Value, ref int64) int64 { return ref + int64(int32(v-Value(ref))) }

// Unwrapper turns a series of sequence numbers (or relative sequence
// numbers) into 64-bit positions that keep growing past 2^32, as
// Wireshark's and tcptrace's sequence graphs draw them: each value is
// placed with Near against the last position placed, so the series may
// go back (retransmissions, reordering), even across a wrap, as long as
// no step is 2^31 or more. The zero Unwrapper places its first value at
// itself (0 to 2^32-1).
type Unwrapper struct {
	ref int64 // the position the next value is placed near
	ok  bool  // ref is set
}

// Unwrap returns the position of v in the series and makes it the
// reference for the next value.
func (u *Unwrapper) Unwrap(v Value) int64 {
	if !u.ok {
		u.ref, u.ok = int64(v), true
	} else {
		u.ref = Near(v, u.ref)
	}
	return u.ref
}

// Reach raises the reference to pos, a position the series is known to
// have reached (such as the end of a segment whose start was unwrapped),
// if it is beyond the reference. On a zero Unwrapper it sets the
// reference, so that the first value is placed near pos.
func (u *Unwrapper) Reach(pos int64) {
	if !u.ok || pos > u.ref {
		u.ref, u.ok = pos, true
	}
}
