"""Pages of long lists for the web pages: numbered, without a COUNT query."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

# Bounded so the offset always fits the database's integers.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class ListPage:
    items: list[Any]
    number: int
    previous: int | None
    next: int | None


def page_number(request: HttpRequest) -> int:
    """The ``page`` parameter; anything but a plausible page number means the first page."""
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return number if 1 <= number <= MAX_PAGE else 1


def list_page(queryset: QuerySet, *, number: int, size: int) -> ListPage:
    """Page ``number`` of ``queryset``, ``size`` rows a page."""
    start = (number - 1) * size
    # One row past the page says whether there is a next one.
    rows = list(queryset[start : start + size + 1])
    return ListPage(
        items=rows[:size],
        number=number,
        previous=number - 1 if number > 1 else None,
        next=number + 1 if len(rows) > size else None,
    )
