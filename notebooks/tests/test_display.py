"""Sizes and metadata in words, as the pages show them."""

import pytest

from notebooks.display import metadata_in_words
from notebooks.sizes import size_text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1000, "1,000 bytes"),
        (1536, "1,536 bytes (1.5 KiB)"),
        (10_485_760, "10,485,760 bytes (10 MiB)"),
        (10_485_761, "10,485,761 bytes"),
        (11_534_336, "11,534,336 bytes (11 MiB)"),
        (3 * 1024**3, "3,221,225,472 bytes (3 GiB)"),
    ],
)
def test_sizes_are_exact_so_one_byte_over_never_reads_like_the_limit(size, text):
    assert size_text(size) == text


def test_onboarding_metadata_reads_as_words():
    assert metadata_in_words({"source": "onboarding", "is_sample": True, "order": 2}) == [
        ("Origin", "A sample guide, added when your workspace was set up"),
        ("Reading order", "2"),
    ]


def test_other_metadata_gets_readable_labels_and_values():
    assert metadata_in_words(
        {"source": "scanner", "is_sample": False, "reviewed_by": None, "tags": ["a"]}
    ) == [
        ("Source", "scanner"),
        ("Is sample", "No"),
        ("Reviewed by", "None"),
        ("Tags", '["a"]'),
    ]
