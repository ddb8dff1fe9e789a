"""Board kinds, the board protocol, transports and firmware images (installed as gateway.boards).

kinds      board kind descriptors and flash layouts
protocol   the frame codec of PROTOCOL.md (no I/O)
transport  byte transports by URL (serial, pty, tcp, spy+)
link       a transport with sequence numbers and request/reply matching
image      firmware images of IMAGE.md: keys, build, sign, verify

The board firmware and its simulator (C) live beside these under boards/.
"""
