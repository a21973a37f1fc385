"""A real pseudo-terminal for tests of what an operator sees, read without guessing how long to wait."""

import fcntl
import itertools
import os
import re
import struct
import termios
import threading
import time

# Written after the output, and read back, to know that everything before it was read. An escape
# sequence no program writes, which no terminal setting changes.
_MARKER = "\x1b]aether-test-end-{}\x07"
_MARKERS = itertools.count(1)
_ANY_MARKER = re.compile("\x1b]aether-test-end-\\d+\x07")


class Terminal:
    """A pseudo-terminal of 24 rows by 100 columns, and everything written to it."""

    def __init__(self) -> None:
        self.main_fd, self.tty_fd = os.openpty()
        fcntl.ioctl(self.tty_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        self.chunks: list[bytes] = []
        self._lock = threading.Lock()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        # Read all the time, so a full terminal buffer never blocks the writer.
        while True:
            try:
                chunk = os.read(self.main_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.chunks.append(chunk)

    def text(self, timeout: float = 30) -> str:
        """Everything written so far: a marker goes after it, and the text is returned once the marker
        was read (polled, at most ``timeout`` seconds)."""
        marker = _MARKER.format(next(_MARKERS))
        os.write(self.tty_fd, marker.encode())
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                raw = b"".join(self.chunks).decode("utf-8", errors="replace")
            if marker in raw:
                # Without this marker and those of earlier calls.
                return _ANY_MARKER.sub("", raw.split(marker, 1)[0])
            assert time.monotonic() < deadline, "the terminal's output was not read back"
            time.sleep(0.01)

    def close(self) -> None:
        os.close(self.tty_fd)
        self.reader.join(timeout=5)
        os.close(self.main_fd)
