"""Writing to an operator's terminal: numbers in words, and log lines that leave a progress bar whole."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm


def count(number: int, noun: str, plural: str = "") -> str:
    """``1 user``, ``3 users``: a number and its noun, agreeing."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def printable(text: str) -> str:
    """``text`` as it may be shown on a terminal: quoted with escapes when blank or holding control
    characters, which could otherwise move the cursor, clear the screen or hide the rest of a line.
    """
    return text if text.strip() and text.isprintable() else repr(text)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


class LevelAtLeast(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


class AboveTheBar:
    """A log handler's stream that lifts the progress bar while a line is written, then draws it again."""

    def __init__(self, stream: TextIO, bar: tqdm) -> None:
        self.stream = stream
        self.bar = bar

    def write(self, text: str) -> int:
        self.bar.clear()
        written = self.stream.write(text)
        self.stream.flush()
        self.bar.refresh()
        return written

    def flush(self) -> None:
        self.stream.flush()


def _writes_to_a_terminal(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    try:
        return isinstance(handler, logging.StreamHandler) and bool(stream and stream.isatty())
    except (AttributeError, ValueError):  # a stream without isatty, or closed
        return False


@contextmanager
def terminal_logs(bar: tqdm, *, quiet: bool) -> Iterator[None]:
    """Log lines on the terminal never break the bar; with ``quiet``, only warnings and worse show.

    Each run logs a line of its own, which on a terminal repeats the command's line for that user
    and splits the bar: below warnings they are held back there. Handlers writing elsewhere (a file,
    a pipe to a log collector) are left as they are.
    """
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    handlers = {
        handler for logger in loggers for handler in logger.handlers if _writes_to_a_terminal(handler)
    }
    only_warnings = LevelAtLeast(logging.WARNING)
    streams = {}
    for handler in handlers:
        streams[handler] = handler.setStream(AboveTheBar(handler.stream, bar))
        if quiet:
            handler.addFilter(only_warnings)
    try:
        yield
    finally:
        for handler, stream in streams.items():
            handler.setStream(stream)
            handler.removeFilter(only_warnings)
