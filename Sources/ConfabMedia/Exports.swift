// The engine's sockets and threads live in ConfabSocket (shared with the
// server's forwarder); users of ConfabMedia see them as before.
@_exported import ConfabSocket
