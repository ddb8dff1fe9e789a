"""Board kinds, the board protocol, transports and firmware images (installed as gateway.boards).

kinds      board kind descriptors and flash layouts
protocol   the frame codec of PROTOCOL.md (no I/O)
transport  byte transports by URL (serial, pty, tcp, spy+)
link       a transport with sequence numbers and request/reply matching
board      a board for tools: requests with their replies checked, restart and reconnect
image      firmware images of IMAGE.md: keys, build, sign, verify
config     TOML config files of spans and ports: checked with line numbers, turned into requests
simulator  starting the native firmware as a simulated board (linegate sim, sim://)

The board firmware and its simulator (C) live beside these under boards/.
"""
