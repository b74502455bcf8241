package analyze

import "testing"

func TestIPIDContinues(t *testing.T) {
	for _, tt := range []struct {
		id, last uint16
		want     bool
	}{
		{0x1001, 0x1000, true},
		{0x1000 + IPIDWindow, 0x1000, true},
		{0x1000 + IPIDWindow + 1, 0x1000, false},
		{0x1000, 0x1000, false}, // the same ID again: another packet, not the next
		{0x0fff, 0x1000, false}, // below the series
		{0x0000, 0xffff, true},  // wraps
		{IPIDWindow - 2, 0xfffe, true},
		{IPIDWindow - 1, 0xfffe, false},
	} {
		if got := ipidContinues(tt.id, tt.last); got != tt.want {
			t.Errorf("ipidContinues(%#04x, %#04x) = %v, want %v", tt.id, tt.last, got, tt.want)
		}
	}
}
