"""CTI on the local socket: the wire protocol (``protocol``), the server and
its sessions (``server``) and the Python client (``client``). The protocol
is documented for application developers in PROTOCOL.md next to this file.
The layer translates between the wire and the call service; it knows
nothing of calls beyond the ops' and events' schemas."""

from gateway.cti.client import Client
from gateway.cti.protocol import PROTOCOL_VERSION, register_event, register_op
from gateway.cti.server import AuthPolicy, CtiServer, Peer, Session, default_socket_path
from gateway.errors import CtiError, CtiRequestError, CtiSocketError

__all__ = ["AuthPolicy", "Client", "CtiError", "CtiRequestError", "CtiServer", "CtiSocketError", "PROTOCOL_VERSION",
           "Peer", "Session", "default_socket_path", "register_event", "register_op"]
