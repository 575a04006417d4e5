"""The example web app as a system under test: a burst of connections (a data-driven run's rows at once) waits
in the listen backlog rather than being dropped."""

from __future__ import annotations

import socket

from examples.webapp.app import _Handler, _Server


def test_a_burst_of_connections_waits_in_the_backlog_instead_of_being_dropped() -> None:
    # The app speaks HTTP/1.0: a connection per request. With socketserver's backlog of 5, connections beyond it
    # while the accept loop was busy had their SYN dropped and retried a second later, so 8 rows at once made a
    # `max_latency_ms` check (a Postman `responseTime` test) fail at random.
    server = _Server(("127.0.0.1", 0), _Handler)  # listening, nothing accepting yet: only the backlog holds them
    address = ("127.0.0.1", server.server_address[1])
    connections: list[socket.socket] = []
    try:
        for _ in range(32):
            connections.append(socket.create_connection(address, timeout=0.5))
    finally:
        for connection in connections:
            connection.close()
        server.server_close()

    assert len(connections) == 32
