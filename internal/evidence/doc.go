// Package evidence writes the evidence capture of "ctcpdiag analyze
// --evidence FILE.pcapng": a pcapng file holding the frames that prove a
// report, each frame the report cites carrying a packet comment that says
// in one line what it shows, so that the next engineer opens it in
// Wireshark and finds the report's frames in it.
//
// # What is written
//
// [Write] reads the capture a second time (the first read, the analysis,
// decided what to keep) and copies, in the source's order:
//
//   - every frame of each session given in [Spec.Sessions] (for a report:
//     its affected and at-risk cTCP sessions) when the session has at most
//     [Limits.Whole] packets; of a longer one, its first [Limits.Handshake]
//     packets, the [Limits.Window] packets of the session before and after
//     each cited frame, and its last [Limits.End] packets;
//   - every cited frame ([Spec.Cites]), wherever it lies.
//
// Nothing else is written. Each packet keeps its timestamp, its captured
// and wire lengths and its bytes, on an interface with the source's link
// type, snapshot length and timestamp resolution (capfile.Source.Interface);
// with [Spec.Mapper] the bytes are rewritten as "ctcpdiag anonymize"
// rewrites them (analyze/rewrite) and interface names are not kept.
//
// Frame numbers of the source are kept two ways: every packet carries
// them in its epb_packetid option (draft-ietf-opsawg-pcapng; Wireshark's
// frame.packet_id), and a cited frame's comment starts with them:
// "ctcpdiag: original frame 132; ...". Only cited frames have a comment,
// so Wireshark's frame.comment filter finds exactly the annotated frames.
// The section header's comment names the source file, its SHA-256, the
// tool and its version, how frame numbers map and which sessions were kept,
// and gives the display filters that work in both files.
//
// [FromReport] builds the Spec of a report of analyze; [FromCorrelation]
// that of one side of a correlation ("ctcpdiag correlate --evidence-a
// FILE --evidence-b FILE"): the file's session of each failing pair and
// every frame of the file the correlation report names, with the other
// file named in the section comment.
//
// # Memory
//
// Frames are written in the source's order. A frame of a long session
// that may still fall in the window before a cited frame is held until
// that is decided (at most Limits.Window frames per session), and the
// kept frames after it wait behind it; all the frames waiting are bounded
// by Limits.Held bytes, past which the oldest undecided one is let go. Everything else streams: memory does not grow with the size
// of the capture.
package evidence
