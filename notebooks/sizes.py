"""Byte sizes in words: exact, so that a size one byte over a limit never reads like the limit."""

BINARY_UNITS = (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def size_text(size: int) -> str:
    """``10485760`` -> ``"10,485,760 bytes (10 MiB)"``; ``10485761`` -> ``"10,485,761 bytes"``.

    The count of bytes is always exact; a binary unit is added only when it states the size exactly
    (to one decimal), never a rounded "10.0 MB" that a larger size would share.
    """
    text = f"{size:,} byte{'' if size == 1 else 's'}"
    for unit, factor in BINARY_UNITS:
        if size >= factor and (size * 10) % factor == 0:
            return f"{text} ({size / factor:g} {unit})"
    return text
