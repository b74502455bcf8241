// Package correlate reads two captures of the same traffic taken at two
// points (the client side and the headend side of a proxy, the inside
// and the outside of a firewall) and tells what happened between them.
//
// Both captures are analyzed at once by package analyze, each in its own
// goroutine, with its message hook (analyze.Options.OnMessage): every ESP
// message (cTCP messages as framed at Cisco's trailer, NAT-T, Cisco
// IPsec over UDP, native ESP), every IKE message and every TCP control
// segment (SYN, FIN, RST, keep-alive, duplicate ACK) is handed to one
// matcher, which merges the two files by time.
//
// Sessions are matched across the files by what survives NAT, sequence
// randomization and proxies: the ESP SPIs per direction, else the IKE
// initiator SPI (cookie), else, for other TCP, identical addresses and
// ports, else the same first 32 bytes of a direction's stream (a hash
// from analyze.MessageData; it needs the SYN of that direction in both
// files, and a TCP session seen with no SYN, FIN, RST, duplicate ACK or
// keep-alive in a file leaves nothing to match on). Messages are matched per direction by SPI and ESP sequence
// number (IKE by initiator SPI, message ID and occurrence). The clock
// offset between the files is the midpoint of the two directions'
// minimum apparent delays (so that a symmetric path cancels); the
// direction in which A's copy comes first has A upstream. A message
// seen only at the upstream point was lost between the points; one seen
// only downstream was generated between them. Only messages inside both
// captures' time windows (after the offset, with a margin of twice the
// largest delay plus 50 ms) are judged, and of those only the ones
// after the other file's first record of the session direction (of the
// session, for one not carried in TCP): a capture that starts in the
// middle of a session may not frame the first cTCP segment it meets.
//
// # Memory
//
// Each file is read once, and memory is bounded by the messages in
// flight between the points, not by the size of the files
// (docs/design.md, "The pipeline": packets are never kept).
//
// The analyses hand their messages over in batches of 256 (recycled)
// through channels of 4 batches, so that an analysis never runs far
// ahead of the matcher and the hook costs an append on the hot path. An
// error in either file (analyze's errors name the file, and the frame
// where known) stops the other: its hook panics with a private value
// that its goroutine recovers, and a reader given to Readers returns
// an error.
//
// The matcher takes the message of whichever file is earlier (B's time
// after the current offset estimate), and keeps the messages of each
// file in a queue in arrival order, 56 bytes each plus an entry of the
// ESP key table (about 110 bytes in all). A message leaves the queue
// when it is matched or when the other file has clearly gone past it:
// the other file's clock, after the offset estimate, is beyond its time
// plus the margin (twice the largest delay seen plus 50 ms), or the
// other file ended. The estimates follow the rule of the result as
// messages match (the mean rather than the median tells a pair's
// upstream direction). Before anything matched, the offset is unknown:
// messages wait until the other file's raw clock is 10 minutes past
// them, and are judged only if the offset found later is well inside
// that; meanwhile every 64th ESP sequence number of each file is kept
// with its time (the latest 16,384 per file: a million messages back),
// and one seen in both gives the offset however far apart the clocks
// are. The files are then merged after that offset: a message whose
// counterpart the other file had already given up is not judged.
// Whatever the clocks, a hard cap (Options.MaxPending, 32,768 per file
// by default, and a quarter more for IKE messages: about 4.5 MiB)
// bounds what is held: a message forced out by it is not judged
// (Direction.NotJudged), never called lost, and is counted in
// Result.ForcedA and ForcedB. Result.PeakHeldA and PeakHeldB tell the
// most messages held at once. A frame whose
// timestamp jumps far ahead makes the other file's held messages wait
// for it until the cap forces them out. IKE messages (a few per
// session) wait apart, up to 10 s, for their session's pair by ESP SPI
// or addresses, which tells how the files' directions correspond (an
// IKE request and its response carry the same SPI and message ID); the
// matched ones are dropped as they match.
//
// What the result needs of the messages is kept as bounded aggregates,
// per session direction of each file and per pair of sessions, built as
// the messages leave the queue in arrival order:
//
//   - counts of the messages seen at both points, in one file only
//     (judged against the windows at the end: those waiting beyond
//     32,768 per file are judged at once with the estimates, the other
//     file's first message and clock standing for its window), not
//     judged and repeated (a repeat is seen while the first copy is in
//     flight);
//   - the apparent delays: exact up to 65,536 per direction and
//     131,072 over all directions (the median, 99th percentile and
//     maximum as before; past the latter the direction keeping the most
//     goes over first), then a histogram of their distance to the
//     median at that point in buckets 2% wide, so that a quantile is
//     within 1% of its distance to that median (1% of the one-way delay
//     for the median and above); the minimum and maximum, which make the
//     clock offset, stay exact;
//   - the first Options.MaxListed lost messages of each direction, with
//     the nearest message seen at both points before the hole (known
//     when the lost one leaves the queue) and after it (filled in when
//     that one leaves);
//   - the TCP control events seen at one point only, matched by kind and
//     direction within the margin as they come: counts, the first
//     MaxListed frames and the first time;
//   - the relation of the TCP views: the sequence offset of the first
//     message in A's order and whether it is constant, the messages cut
//     differently (each message's neighbours are known when the next
//     message of its direction arrives: one message per direction
//     waits), the ACK differences (the first 16 distinct values
//     counted, which is exact for a constant offset) and IP IDs.
//
// Per session the matcher keeps its SPIs, IKE SPIs and the counts
// above; a session without ESP or IKE that nothing paired is forgotten
// once the other file is 2 minutes past it, so that many short TCP
// connections do not grow it. The pairing of sessions is redone at the
// end by the rules above, over each session's SPIs in order of
// appearance; while streaming, each session has at most one partner (a
// session that pairs with two of the other file has its IKE messages and
// events matched with one).
//
// On samplegen.LargePair's pairs (about 300 sessions at once) the
// matcher holds at most about 4,300 messages a file at 20,000 and at
// 160,000 packets (TestMemoryBounded); on its pair of 1.1 GB captures
// the result is the one reading both files whole gave, but for a few
// 99th percentiles of delay (within 0.1%) and the IKE messages of a B
// session paired with two of A.
package correlate
