// Package scan is the batch scanner behind "ctcpdiag scan" and "ctcpdiag
// merge": it finds the captures under a set of paths (directories walked
// recursively, shell-style globs, .tar, .tar.gz, .tgz and .zip archives
// read in place), analyzes them on a pool of workers and hands the results
// to a Writer in a deterministic order, whatever the number of workers.
// It is a driver: each capture's report comes from internal/pipeline, the
// same path "ctcpdiag analyze" takes, so a capture scanned and a capture
// analyzed give the same report.
//
// # Inputs
//
// Directories are walked in lexical order, following symbolic links;
// every directory is entered once (identified by device and inode), so a
// symbolic-link loop ends. Regular files named *.tar, *.tar.gz, *.tgz and
// *.zip are archives; every other regular file is offered to the analyzer,
// which recognises captures by their magic bytes (pcap, pcapng, also
// compressed with gzip or zstd). Archive entries are handled the same way,
// archives inside archives included (up to MaxDepth levels); an entry
// prints as "archive.tgz:inner/path.pcap".
//
// A file that is not a capture (or is empty) is skipped with a reason,
// unless its name says it should be one (see IsCaptureName) or it was
// named on the command line: then it is reported as unreadable.
//
// # Memory
//
// At most Jobs analyses run at a time. A tar archive is read sequentially
// by one feeder goroutine: an entry of at most BufferLimit bytes is read
// into a pooled buffer and handed to a free worker (so at most Jobs+1
// buffers exist); a larger entry is streamed to a worker through a pipe
// and the feeder waits for it before reading on. A zip archive is read in
// place through its io.ReaderAt: each worker decompresses its own entry.
// A zip inside another archive must be held in memory (zip needs random
// access): it is read only when at most ZipInMemoryLimit bytes, and the
// feeder waits for its entries before going on. Memory therefore does not
// grow with the size of an archive.
//
// # Order
//
// Results are delivered sorted by their printed path (byte-wise), entries
// with the same path in the order found. A result is delivered as soon as
// no input still being read can produce a smaller path, so a text table
// streams while the scan runs. "ctcpdiag merge" sorts the same way, so
// merged shard outputs match a single scan.
//
// # Sharding
//
// Shard{K, N} keeps only the results whose printed path hashes (FNV-1a 64
// bits, modulo N) to K-1: N scans with K = 1..N cover every capture, every
// unreadable file and every skipped entry exactly once. Archives are read
// by every shard, but each analyzes only its own entries.
package scan
