"""The shared counter: windows, their roll-over, refusals taken back, and exact counts under concurrency."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection, connections

from aether.env import Rate, env_rate
from aether.throttling import counter
from aether.throttling.counter import (
    count_request,
    current_window,
    prune_expired,
    uncount_request,
)
from aether.throttling.models import ThrottleCount
from aether.throttling.throttles import throttle_key

PER_MINUTE = Rate(3, 60)
# The start of a window of PER_MINUTE: 2026-01-01 00:00 UTC.
START = 1_767_225_600.0


def hits(key: str, rate: Rate, at: float, times: int = 1) -> list:
    return [count_request(key=key, rate=rate, now=at) for _ in range(times)]


@pytest.mark.django_db
def test_requests_are_counted_up_to_the_rate_and_the_next_one_is_over():
    windows = hits("client", PER_MINUTE, START + 10, times=4)

    assert [window.hits for window in windows] == [1, 2, 3, 4]
    assert [window.over for window in windows] == [False, False, False, True]


@pytest.mark.django_db
def test_the_previous_window_fades_out_as_the_new_one_goes_on():
    hits("client", PER_MINUTE, START + 50, times=3)

    # Halfway through the next minute, half of the previous minute's three requests still weigh: two.
    window = count_request(key="client", rate=PER_MINUTE, now=START + 90)
    assert (window.hits, window.previous_hits, window.estimate) == (1, 3, 3)
    assert not window.over
    assert count_request(key="client", rate=PER_MINUTE, now=START + 91).over
    # Two windows on, the first one is forgotten.
    assert count_request(key="client", rate=PER_MINUTE, now=START + 125).estimate == 1 + 2


@pytest.mark.django_db
def test_a_burst_across_the_end_of_a_window_is_counted_exactly():
    hits("client", PER_MINUTE, START + 59.9, times=2)

    third, fourth = hits("client", PER_MINUTE, START + 60.1, times=2)

    assert (third.estimate, third.over) == (3, False)
    assert (fourth.estimate, fourth.over) == (4, True)


@pytest.mark.django_db
def test_clients_and_throttles_are_counted_apart():
    hits("ada", PER_MINUTE, START, times=3)

    assert not count_request(key="grace", rate=PER_MINUTE, now=START).over
    assert count_request(key="ada", rate=Rate(3, 3600), now=START).hits == 1


@pytest.mark.django_db
def test_a_refused_request_is_taken_back_and_retry_after_is_when_the_next_one_fits():
    *_, refused = hits("client", PER_MINUTE, START + 15, times=4)

    served = uncount_request(refused, key="client")

    assert ThrottleCount.objects.get(key="client").hits == 3 == served.hits
    # Three served a quarter into the window: the next fits once a third of the next window has
    # passed (three fading to two): 45 s + 20 s.
    assert served.seconds_until_allowed() == 65
    assert count_request(key="client", rate=PER_MINUTE, now=START + 15 + 64).over
    ThrottleCount.objects.filter(key="client", window_number=int(START // 60) + 1).delete()
    assert not count_request(key="client", rate=PER_MINUTE, now=START + 15 + 65).over


@pytest.mark.django_db
def test_retry_after_within_the_window_when_only_the_previous_one_weighs():
    hits("client", PER_MINUTE, START + 30, times=3)
    window = current_window(key="client", rate=PER_MINUTE, now=START + 60 + 6)

    # 3 * (1 - 0.1) = 2.7, so three with the next one: it fits once 3 * (1 - f) <= 2, at f = 1/3.
    assert (window.hits, window.previous_hits, window.full) == (0, 3, True)
    assert window.seconds_until_allowed() == 14
    assert not current_window(key="client", rate=PER_MINUTE, now=START + 60 + 20).full


@pytest.mark.django_db
def test_expired_windows_are_pruned_and_current_ones_kept():
    hits("old", PER_MINUTE, START)
    hits("recent", PER_MINUTE, START + 60)

    # At START + 120 the first window is no longer anyone's previous one; the second still is.
    assert prune_expired(now=START + 120.5) == 1
    assert list(ThrottleCount.objects.values_list("key", flat=True)) == ["recent"]


@pytest.mark.django_db
def test_a_counted_request_prunes_expired_windows_once_the_interval_has_passed(monkeypatch):
    hits("old", PER_MINUTE, START)
    monkeypatch.setattr(counter, "_next_prune", 0.0)  # due

    hits("recent", PER_MINUTE, START + 120.5)  # prunes "old", expired at START + 120
    hits("old", PER_MINUTE, START)  # counted again from 1, and not pruned: the next prune is a minute off

    assert sorted(ThrottleCount.objects.values_list("key", "hits")) == [("old", 1), ("recent", 1)]


@pytest.mark.django_db
def test_keys_name_the_throttle_and_its_period_and_hash_very_long_clients():
    assert throttle_key("api", Rate(1200, 60), "user:42") == "api/60:user:42"
    long_key = throttle_key("api", Rate(1, 1), "address:" + "x" * 300)
    assert long_key.startswith("api/1:sha256:") and len(long_key) < 100


@pytest.mark.parametrize(
    ("raw", "rate"),
    [
        ("5/min", Rate(5, 60)),
        ("1200/minute", Rate(1200, 60)),
        ("2 / hours", Rate(2, 3600)),
        ("10/s", Rate(10, 1)),
        ("1/day", Rate(1, 86400)),
    ],
)
def test_rates_are_read_drf_style(monkeypatch, raw, rate):
    monkeypatch.setenv("X_RATE", raw)
    assert env_rate("X_RATE", "1/s") == rate


@pytest.mark.parametrize("raw", ["5", "0/min", "-1/min", "5/fortnight", "five/min", "5/min/user"])
def test_a_bad_rate_names_its_variable(monkeypatch, raw):
    monkeypatch.setenv("X_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match=r"X_RATE must be a rate such as '5/min'"):
        env_rate("X_RATE", "1/s")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_connections_lose_no_count():
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    rate = Rate(1000, 3600)

    def count(_: int) -> list[int]:
        try:
            barrier.wait()
            return [count_request(key="crowd", rate=rate).hits for _ in range(per_thread)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        seen = [hit for answers in pool.map(count, range(threads)) for hit in answers]

    # Every increment answered a different count, none lost: 1 … 200, each once.
    assert sorted(seen) == list(range(1, threads * per_thread + 1))
    assert ThrottleCount.objects.get(key="crowd").hits == threads * per_thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_raises_rather_than_allowing_or_refusing():
    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        with pytest.raises(OperationalError):
            count_request(key="client", rate=PER_MINUTE)
        with pytest.raises(OperationalError):
            current_window(key="client", rate=PER_MINUTE)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert not ThrottleCount.objects.exists()
