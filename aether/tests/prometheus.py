"""Reading a ``/metrics`` answer in tests, with the Prometheus client's own parser."""

from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "test-metrics-token-0123456789"


def parse_samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by its name and its labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def family_types(text: str) -> dict[str, str]:
    """Each metric family's name and type (``counter``, ``histogram``, ``gauge``)."""
    return {family.name: family.type for family in text_string_to_metric_families(text)}


def value(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """The sample's value, 0 when the series does not exist yet (a counter nobody has raised)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
