package capfile

import (
	"errors"
	"testing"
)

func TestInputErrorString(t *testing.T) {
	if newInputError("f", 1, 2, nil) != nil {
		t.Error("newInputError(nil) is not nil")
	}
	for _, tc := range []struct {
		e    InputError
		want string
	}{
		{InputError{"capture.pcap", 1234, 56789, errorf(ErrTruncated, "truncated packet record")}, "capture.pcap: packet 1234 (byte offset 56789): truncated packet record"},
		{InputError{"capture.pcap", 0, -1, ErrEmpty}, "capture.pcap: empty file"},
		{InputError{"capture.pcap", 0, 0, errorf(ErrTruncated, "truncated pcap file header")}, "capture.pcap: byte offset 0: truncated pcap file header"},
		{InputError{"capture.pcap", 7, -1, ErrCorrupt}, "capture.pcap: packet 7: corrupt capture"},
		{InputError{"", 0, -1, ErrNotCapture}, "not a pcap or pcapng file"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	err := newInputError("f", 1, 2, errorf(ErrTruncated, "x"))
	if !errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) {
		t.Errorf("errors.Is wrong for %v", err)
	}
}
