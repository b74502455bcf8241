// Package decode turns the bytes of one captured frame into a Packet: the
// innermost IP header and its TCP, UDP or ESP header, with nothing allocated
// per packet.
package decode
