// Package seq implements wrap-aware TCP sequence-number arithmetic.
//
// TCP sequence numbers are 32-bit and wrap. Every comparison in ctcpdiag goes
// through this package: a Value is less than another when the signed 32-bit
// difference between them is negative (RFC 793 §3.3, RFC 1982 serial number
// arithmetic). Never compare raw uint32 sequence numbers with < or >.
package seq

// Value is a TCP sequence or acknowledgement number.
type Value uint32

// Size is a length in sequence space (bytes, plus one for SYN and FIN).
type Size uint32

// LessThan reports whether v comes before w in sequence space.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v comes before w or equals it.
func (v Value) LessThanEq(w Value) bool { return v == w || v.LessThan(w) }

// GreaterThan reports whether v comes after w in sequence space.
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports whether v comes after w or equals it.
func (v Value) GreaterThanEq(w Value) bool { return v == w || v.GreaterThan(w) }

// Add returns v advanced by s, wrapping at 2^32.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Sub returns the distance from w to v (v - w) in sequence space.
func (v Value) Sub(w Value) Size { return Size(v - w) }

// InRange reports whether v lies in the half-open window [a, b).
func (v Value) InRange(a, b Value) bool { return a.LessThanEq(v) && v.LessThan(b) }

// InWindow reports whether v lies in [first, first+size).
func (v Value) InWindow(first Value, size Size) bool { return v.Sub(first) < size }
