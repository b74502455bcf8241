package main

import "syscall"

// mapPopulate fills the mapping's page tables at once: one system call
// instead of a fault per page.
const mapPopulate = syscall.MAP_POPULATE
