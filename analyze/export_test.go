package analyze

// WithTrace returns opts with a hook that receives each analyzed TCP
// frame's analysis flags.
func WithTrace(opts Options, f func(frame uint64, flags uint16)) Options {
	opts.trace = f
	return opts
}

// Flag bits, for tests.
const (
	FlagDupAck     = aDuplicateAck
	FlagRetrans    = aRetransmission | aFastRetransmission | aSpuriousRetransmission
	FlagFastRetx   = aFastRetransmission
	FlagLost       = aLostPacket
	FlagAckedLost  = aAckLostPacket
	FlagOutOfOrder = aOutOfOrder
	FlagZeroWindow = aZeroWindow
)

// FileSharded is File on opts.Threads goroutines that returns
// ErrShardsGaveUp instead of starting again on one.
func FileSharded(path string, opts Options) (*Capture, error) { return fileSharded(path, opts) }

// ErrShardsGaveUp is errShardsGaveUp.
var ErrShardsGaveUp = errShardsGaveUp
