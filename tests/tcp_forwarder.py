"""A TCP forwarder on loopback that tests put between the app and PostgreSQL, to take the database away.

The shared PostgreSQL server must keep running for everybody else, so an outage is made here instead:
``refuse()`` closes the listening socket (new connections are refused by the kernel, as from a stopped
server) and cuts every open connection (as a server that went away does); ``restore()`` listens again
on the same port. The app is pointed at ``forwarder.port`` instead of PostgreSQL's.
"""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from django.db import connection

POSTGRES_ADDRESS = ("127.0.0.1", 5432)
# How often the accepting thread looks whether it should stop.
ACCEPT_POLL_SECONDS = 0.1
CHUNK_BYTES = 65536


class TcpForwarder:
    """Forward connections made to ``127.0.0.1:port`` to ``target``, until told to refuse them."""

    def __init__(self, target: tuple[str, int] = POSTGRES_ADDRESS) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections_made = 0

    def start(self) -> None:
        """Listen (on a free port the first time, on the same one after ``refuse()``) and forward."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    restore = start

    def refuse(self) -> None:
        """Stop listening, so that connecting is refused, and cut every connection open now."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            self._accepting.join()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _cut(sock)

    stop = refuse

    @property
    def is_refusing(self) -> bool:
        return self._listener is None

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by refuse()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _cut(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
                self.connections_made += 1
            for source, destination in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, destination), daemon=True).start()

    def _pump(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while chunk := source.recv(CHUNK_BYTES):
                destination.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, destination}
            _cut(source)
            _cut(destination)


def _cut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def forwarding(target: tuple[str, int] = POSTGRES_ADDRESS) -> Iterator[TcpForwarder]:
    forwarder = TcpForwarder(target)
    forwarder.start()
    try:
        yield forwarder
    finally:
        forwarder.stop()


@pytest.fixture
def database_forwarder() -> Iterator[TcpForwarder]:
    """A forwarder to the PostgreSQL server of the test database, stopped after the test."""
    database = connection.settings_dict
    with forwarding((database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))) as forwarder:
        yield forwarder
