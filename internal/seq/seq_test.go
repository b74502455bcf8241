package seq

import "testing"

func TestCompareAcrossWrap(t *testing.T) {
	tests := []struct {
		v, w     Value
		less     bool
		greater  bool
		lessOrEq bool
	}{
		{1, 2, true, false, true},
		{2, 1, false, true, false},
		{5, 5, false, false, true},
		{0xFFFFFFF0, 0x10, true, false, true}, // 0x10 is after the wrap
		{0x10, 0xFFFFFFF0, false, true, false},
		{0xFFFFFFFF, 0, true, false, true},
		{0x7FFFFFFF, 0, false, true, false},
	}
	for _, tt := range tests {
		if got := tt.v.LessThan(tt.w); got != tt.less {
			t.Errorf("%#x.LessThan(%#x) = %v, want %v", tt.v, tt.w, got, tt.less)
		}
		if got := tt.v.GreaterThan(tt.w); got != tt.greater {
			t.Errorf("%#x.GreaterThan(%#x) = %v, want %v", tt.v, tt.w, got, tt.greater)
		}
		if got := tt.v.LessThanEq(tt.w); got != tt.lessOrEq {
			t.Errorf("%#x.LessThanEq(%#x) = %v, want %v", tt.v, tt.w, got, tt.lessOrEq)
		}
		if got := tt.v.GreaterThanEq(tt.w); got != !tt.less {
			t.Errorf("%#x.GreaterThanEq(%#x) = %v, want %v", tt.v, tt.w, got, !tt.less)
		}
	}
}

func TestInRangeAcrossWrap(t *testing.T) {
	a := Value(0xFFFFFF00)
	b := a.Add(0x200) // wraps to 0x100
	if b != 0x100 {
		t.Fatalf("Add wrapped to %#x, want 0x100", b)
	}
	for _, v := range []Value{0xFFFFFF00, 0xFFFFFFFF, 0, 0xFF} {
		if !v.InRange(a, b) || !v.InWindow(a, 0x200) {
			t.Errorf("%#x should be in [%#x, %#x)", v, a, b)
		}
	}
	for _, v := range []Value{0x100, 0xFFFFFEFF, 0x80000000} {
		if v.InRange(a, b) || v.InWindow(a, 0x200) {
			t.Errorf("%#x should not be in [%#x, %#x)", v, a, b)
		}
	}
	if d := Value(0x10).Sub(0xFFFFFFF0); d != 0x20 {
		t.Errorf("Sub across wrap = %#x, want 0x20", d)
	}
}
