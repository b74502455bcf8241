package analyze

import (
	"errors"
	"io"
)

// Options configure an analysis.
type Options struct {
	// Ports are extra TCP ports on which cTCP is expected, besides 10000
	// (--port). cTCP is also recognised by content on any port.
	Ports []uint16
	// MaxFlows bounds the flow table (0: the default).
	MaxFlows int
}

// File analyzes the capture at path ("-" is not special here; use Reader
// for standard input).
func File(path string, opts Options) (*Capture, error) {
	return nil, errors.New("not implemented")
}

// Reader analyzes the capture read from r; name is used in the report and
// in errors.
func Reader(r io.Reader, name string, opts Options) (*Capture, error) {
	return nil, errors.New("not implemented")
}
