"""The notebook search over many notebooks in one space, with its trigram index and without.

Fills one organization space with notebooks of random words by COPY (the worst case: every notebook in
the searched space), then times what one search request costs (the count and the first page of 50)
for a rare phrase and a common word, with the pg_trgm GIN index and with the index dropped (in a
transaction that is rolled back). The notebooks are deleted at the end.
"""

import json
import random
import string
import uuid
from dataclasses import dataclass

from table import Row, indexes_used, info, median, milliseconds

RARE_PHRASE = "getting started"
INDEX = "notebook_search_trgm"


@dataclass(frozen=True)
class Sizes:
    notebooks: int
    rare: int  # notebooks that mention the rare phrase
    runs: int


FULL = Sizes(notebooks=100_000, rare=20, runs=21)
TINY = Sizes(notebooks=300, rare=3, runs=3)


def vocabulary(rng: random.Random, size: int = 2000) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10))) for _ in range(size)]


def fill(space, owner, sizes: Sizes) -> str:
    """COPY the notebooks into ``space``; answer a common word (in about one notebook in a hundred)."""
    from django.db import connection

    from notebooks.models import notebook_search_text

    rng = random.Random(4)
    words = vocabulary(rng)
    rare = set(rng.sample(range(sizes.notebooks), sizes.rare))
    columns = (
        "id, space_id, owner_id, name, description, tags, search_text, visibility, created_at, updated_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY notebooks_notebook ({columns}) FROM STDIN") as copy,
    ):
        for number in range(sizes.notebooks):
            name = " ".join(rng.choices(words, k=3)).title()
            description = " ".join(rng.choices(words, k=12))
            if number in rare:
                description = f"{description} {RARE_PHRASE.title()} notes"
            tags = rng.sample(words, k=2)
            # What Notebook.save() would store; COPY bypasses it.
            search_text = notebook_search_text(name, description, tags)
            row = (uuid.uuid4(), space.pk, owner.pk, name, description, json.dumps(tags), search_text)
            copy.write_row((*row, "private", "2026-01-01", "2026-01-01"))
    with connection.cursor() as cursor:
        # Spread updated_at so the page order is realistic, then give the planner fresh statistics.
        cursor.execute(
            "UPDATE notebooks_notebook SET updated_at = created_at + (random() * interval '300 days') "
            "WHERE space_id = %s",
            [space.pk],
        )
        cursor.execute("VACUUM ANALYZE notebooks_notebook")
    return words[0]


def request_ms(space, query: str, runs: int) -> tuple[float, int]:
    """Median milliseconds of one search request's queries (count + first page), and the count."""
    from notebooks.selectors import notebook_search

    total = 0

    def search() -> None:
        nonlocal total
        results = notebook_search(space, query)
        total = results.count()
        list(results[:50])

    return median(milliseconds(search) for _ in range(runs)), total


def measure(url: str, tiny: bool) -> list[Row]:
    from django.db import connection, transaction

    from accounts.services import space_create_organization, user_create
    from notebooks.selectors import notebook_search

    sizes = TINY if tiny else FULL
    owner = user_create(sub=f"bench-search-{uuid.uuid4().hex[:8]}", email="search@example.com")
    space = space_create_organization(owner=owner, name="Search benchmark")
    rows: list[Row] = []
    try:
        common = fill(space, owner, sizes)
        for query in (RARE_PHRASE, common):
            page_plan = notebook_search(space, query)[:50].explain()
            with_index, total = request_ms(space, query, sizes.runs)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP INDEX {INDEX}")
                without_index, _ = request_ms(space, query, sizes.runs)
                transaction.set_rollback(True)
            label = f"search {query!r} in {sizes.notebooks:,} notebooks ({total} matches)"
            rows += [
                info(f"{label}, median", f"{with_index:.1f} ms"),
                info(f"{label}, median without {INDEX}", f"{without_index:.1f} ms"),
                info(f"search {query!r}: indexes the page's plan uses", indexes_used(page_plan)),
            ]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM notebooks_notebook WHERE space_id = %s", [space.pk])
        owner.delete()
    return rows
