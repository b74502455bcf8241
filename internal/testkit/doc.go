// Package testkit holds no code itself: its subpackages are the kits that the
// tests, the benchmarks and the sample generator share, never imported by the
// product (cmd, report, detect, analyze, internal/scan, internal/pipeline,
// internal/anon, internal/seq):
//
//   - samplegen builds the committed sample captures (samples/) and the
//     synthetic captures of the tests and benchmarks;
//   - lab runs real kernel TCP stacks in network namespaces around a proxy or
//     a router and captures both sides;
//   - testcaps finds the public captures in ../shared/captures/public and
//     chooses the subset of them the tshark comparisons check by default;
//   - benchcap builds the large benchmark capture once per test binary.
package testkit
