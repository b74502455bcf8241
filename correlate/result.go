package correlate

import (
	"net/netip"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Result is what two captures of the same traffic say together. File A
// and file B are the two captures as given; nothing assumes which is
// upstream.
type Result struct {
	// A and B are the two analyses (as analyze.File returns them).
	A, B *analyze.Capture
	// Verdict is VerdictNoMatch (nothing in common), VerdictLoss (a
	// message was lost between the points) or VerdictNoLoss.
	Verdict string
	// ClockOffset is B's clock minus A's, in nanoseconds: the midpoint
	// of the two directions' minimum apparent delays. OffsetKnown is
	// false when no direction of traffic both ways was matched: the
	// offset is then taken to be 0 (the clocks assumed in step).
	ClockOffset int64
	OffsetKnown bool
	// Margin is how far (ns) inside both captures' time windows, after
	// the offset, a message must lie to be judged: twice the largest
	// one-way delay plus 50 ms.
	Margin int64
	// Pairs are the sessions matched across the files, ordered by A's
	// session ID, then B's.
	Pairs []Pair
	// UnpairedA and UnpairedB are the IDs of the VPN sessions (and TCP
	// sessions with messages) of each file that matched nothing.
	UnpairedA, UnpairedB []int
	// MessagesA and MessagesB count the messages read per file (ESP and
	// IKE messages and TCP control segments).
	MessagesA, MessagesB int
	// PeakHeldA and PeakHeldB are the most messages of each file held
	// at once while streaming (about 110 bytes each): those in flight
	// between the points, waiting for their counterpart (see "Memory"
	// in the package documentation).
	PeakHeldA, PeakHeldB int
	// ForcedA and ForcedB count the messages and TCP control segments
	// of each file forced out by Options.MaxPending before their
	// counterpart could be looked for: they are counted in NotJudged,
	// never as lost or generated.
	ForcedA, ForcedB int
}

// Verdicts.
const (
	VerdictNoMatch = "no-match"
	VerdictLoss    = "loss-between"
	VerdictNoLoss  = "no-loss-between"
)

// What a pair was matched on (Pair.MatchedBy).
const (
	MatchedESPSPI    = "esp-spi"
	MatchedIKESPI    = "ike-spi"
	MatchedAddresses = "addresses"
	// MatchedPayload: plain TCP matched by the hash of a direction's
	// first 32 stream bytes (analyze.MessageData), the same at both
	// points: what a NAT or TCP proxy passes on unchanged.
	MatchedPayload = "payload"
)

// Relations of the two TCP views (Pair.Relation).
const (
	RelationSame       = "same-connection" // the same sequence and ACK numbers
	RelationSeqOffset  = "sequence-offset" // a constant offset per direction: a sequence randomizer
	RelationTerminated = "terminated"      // two connections: a TCP proxy
	RelationNotTCP     = "not-tcp"
)

// Pair is one session of A matched with one of B.
type Pair struct {
	// A and B are the sessions (IDs in each capture's Sessions).
	A, B *analyze.Session
	// MatchedBy says what the match rests on; SPIs lists the ESP SPIs
	// (MatchedESPSPI) or the IKE initiator SPIs' first 4 bytes
	// (MatchedIKESPI) found in both.
	MatchedBy string
	SPIs      []uint32
	// Relation is the relation of the two TCP views; RelationWhy the
	// facts it rests on, in words.
	Relation    string
	RelationWhy []string
	// Directions are indexed by A's direction (analyze.Dir).
	Directions [2]Direction
	// Generated are packets seen at the downstream point of their
	// direction only: the device between made them. Absorbed are
	// packets seen at the upstream point only: the device between did
	// not pass them on.
	Generated, Absorbed []Event
}

// Direction is one direction of a pair, as seen in A.
type Direction struct {
	// From and To are the sender and receiver as seen in A; BDir is
	// the direction of the B session it maps to.
	From, To netip.AddrPort
	BDir     analyze.Dir
	// Upstream is "a" or "b": the capture point the messages cross
	// first; "" when no message of the direction was seen at both.
	Upstream string
	// Both counts the ESP messages seen at both points; AOnly and BOnly
	// those seen in one file only, inside both captures' windows;
	// NotJudged those seen in one file only, outside them (or forced out
	// of the matcher: Result.ForcedA, ForcedB); Repeats the messages
	// seen again in the same file while the first copy was in flight.
	Both, AOnly, BOnly, NotJudged, Repeats int
	// Lost counts the messages seen upstream only (AOnly or BOnly after
	// Upstream), Generated those seen downstream only.
	Lost, Generated int
	// IKE messages, counted alike (matched by initiator SPI, message
	// ID and occurrence).
	IKEBoth, IKEAOnly, IKEBOnly int
	// FirstLost is the first message lost between the points (by time
	// at the upstream point), nil when none; LostMessages lists the lost
	// messages (capped at Options.MaxListed), LostMessages[0] ==
	// *FirstLost.
	FirstLost    *Lost
	LostMessages []Lost
	// Delay is the one-way delay of the messages seen at both points.
	Delay Delay
	// SeqOffset is B's TCP sequence number minus A's for the same
	// message (cTCP), valid when SeqOffsetConstant (all the same).
	SeqOffset         uint32
	SeqOffsetConstant bool
}

// Lost is one ESP message seen at the upstream point only.
type Lost struct {
	SPI, Seq uint32
	// AFrame and BFrame are its frames: the upstream file's is set, the
	// other 0. Time is its time at the upstream point.
	AFrame, BFrame uint64
	Time           int64
	// Before and After are the nearest messages of the direction seen
	// at both points, before and after it (zero Frames: none, e.g. the
	// downstream point saw nothing past the hole).
	Before, After Frames
}

// Frames are one message's frames in both files.
type Frames struct {
	AFrame, BFrame uint64
	SPI, Seq       uint32
}

// Delay summarizes one-way delays, in nanoseconds.
type Delay struct {
	N                int
	Median, P99, Max int64
}

// Event kinds (Event.Kind).
const (
	EventDupAck    = "dup-ack"
	EventRST       = "rst"
	EventFIN       = "fin"
	EventKeepAlive = "keepalive"
)

// Event is a group of TCP control packets of one kind, direction and
// file seen at one point only.
type Event struct {
	Kind string
	// Side is "a" or "b": the file they were seen in; Dir their
	// direction as seen in A.
	Side  string
	Dir   analyze.Dir
	Count int
	// Frames lists them in Side's file (capped at Options.MaxListed).
	Frames []uint64
	// FirstTime is the time of the first, in Side's clock.
	FirstTime int64
}
