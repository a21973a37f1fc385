"""``{% load sizes %}``: ``{{ document.size_bytes|size_text }}`` -> ``10,485,760 bytes (10 MiB)``."""

from django import template

from notebooks import sizes

register = template.Library()


@register.filter
def size_text(size: int | None) -> str:
    return "" if size is None else sizes.size_text(int(size))
