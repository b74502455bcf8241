package seq

import "testing"

func TestNear(t *testing.T) {
	tests := []struct {
		v    Value
		ref  int64
		want int64
	}{
		{5, 0, 5},
		{0xFFFFFFFF, 0, -1},                    // just before ref: below, not 2^32-1 above
		{0, 0xFFFFFFFF, 1 << 32},               // just after the wrap
		{0xFFFFFF00, 1<<32 + 0x10, 0xFFFFFF00}, // back across the wrap
		{0x7FFFFFFF, 0, 0x7FFFFFFF},            // 2^31-1 ahead: still ahead
		{0x80000000, 0, -0x80000000},           // 2^31 away: placed below, as int32 does
		{0x10, 5<<32 + 0xFFFFFFF0, 6<<32 + 0x10},
		{0x10, -0x20, 0x10},
	}
	for _, tt := range tests {
		if got := Near(tt.v, tt.ref); got != tt.want {
			t.Errorf("Near(%#x, %#x) = %#x, want %#x", tt.v, tt.ref, got, tt.want)
		}
	}
}

func TestUnwrapAcrossWrap(t *testing.T) {
	tests := []struct {
		name string
		in   []Value
		want []int64
	}{
		{"first value at itself", []Value{0xFFFFFFF0}, []int64{0xFFFFFFF0}},
		{"wrap at 2^32",
			[]Value{0xFFFFFF00, 0xFFFFFFFF, 0, 0x100},
			[]int64{0xFFFFFF00, 0xFFFFFFFF, 1 << 32, 1<<32 + 0x100}},
		{"reordered across the wrap", // a segment from before the wrap arrives after one from after it
			[]Value{0xFFFFFF00, 0x10, 0xFFFFFFF0, 0x20, 0xFFFFFF80},
			[]int64{0xFFFFFF00, 1<<32 + 0x10, 0xFFFFFFF0, 1<<32 + 0x20, 0xFFFFFF80}},
		{"retransmission from before the start",
			[]Value{0x10, 0xFFFFFFF0, 0x20},
			[]int64{0x10, -0x10, 0x20}},
		{"several wraps",
			[]Value{0, 0x40000000, 0x80000000, 0xC0000000, 0, 0x40000000, 0x80000000, 0xC0000000, 0},
			[]int64{0, 1 << 30, 2 << 30, 3 << 30, 4 << 30, 5 << 30, 6 << 30, 7 << 30, 8 << 30}},
	}
	for _, tt := range tests {
		var u Unwrapper
		for i, v := range tt.in {
			if got := u.Unwrap(v); got != tt.want[i] {
				t.Errorf("%s: value %d (%#x) at %#x, want %#x", tt.name, i, v, got, tt.want[i])
			}
		}
	}
}

func TestReach(t *testing.T) {
	// Reach on a zero Unwrapper sets where the series starts: the first
	// value is placed near it (here below it, across the wrap), not at
	// itself.
	var u Unwrapper
	u.Reach(0x10)
	if got := u.Unwrap(0xFFFFFFF0); got != -0x10 {
		t.Errorf("after Reach(0x10): %#x, want -0x10", got)
	}
	// Reach only raises the reference: after a range whose end is far
	// ahead of its start, the next value is placed near the end.
	var w Unwrapper
	lo := w.Unwrap(0xF0000000)
	hi := Near(0x60000000, lo) // a bucket spanning 1.75 GiB, across the wrap
	if hi != 1<<32+0x60000000 {
		t.Fatalf("Near = %#x", hi)
	}
	w.Reach(hi)
	w.Reach(lo)                                               // lower: no effect
	if got := w.Unwrap(0xD0000000); got != 1<<32+0xD0000000 { // without Reach: 0xd0000000
		t.Errorf("after Reach: %#x, want %#x", got, int64(1<<32+0xD0000000))
	}
}
