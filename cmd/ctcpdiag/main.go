// Command ctcpdiag analyzes packet captures for the Cisco IPsec-over-TCP
// (cTCP) failure and recommends the fix. Run "ctcpdiag help" for usage.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
