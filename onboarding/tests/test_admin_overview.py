"""The onboarding overview at /admin/onboarding/overview/: its numbers, who may see it, its query count."""

import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onboarding.blueprints import blueprint_create_version
from onboarding.defaults import default_blueprint_spec
from onboarding.models import OnboardingRun, UserOnboarding
from onboarding.statistics import PercentileCont, percentile_cont

pytestmark = pytest.mark.django_db

URL = "/admin/onboarding/overview/"


class Tables(HTMLParser):
    """Every ``<table>`` of a page as its caption and its body rows (lists of cell texts)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._caption, self._rows = "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._rows.append([])
        elif tag in {"td", "th"} and self._in_body:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag == "tbody":
            self._in_body = False
        elif tag in {"td", "th"} and self._cell is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self.tables[" ".join(self._caption.split())] = self._rows

    def handle_data(self, data):
        if self._in_caption:
            self._caption += data
        elif self._cell is not None:
            self._cell.append(data)

    def starting(self, caption: str) -> list[list[str]]:
        (rows,) = [rows for name, rows in self.tables.items() if name.startswith(caption)]
        return rows


def at(days_ago: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days_ago), time(hour)))


def run(user, days_ago: int, status: str, duration_ms: int | None = None, **fields) -> OnboardingRun:
    # History at chosen dates: rows as the service records them, written directly so their dates can be set.
    return OnboardingRun(
        user=user,
        trigger=fields.pop("trigger", OnboardingRun.Trigger.LOGIN),
        status=status,
        started_at=at(days_ago, fields.pop("hour", 12)),
        duration_ms=duration_ms,
        **fields,
    )


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True, is_superuser=True, email="staff@example.com")


@pytest.fixture
def history(make_user, staff):
    """Runs of 30 days: today busy, yesterday none, the day before only failures, the oldest at the edge."""
    fields, documents = default_blueprint_spec()
    blueprint_create_version(fields={**fields, "notebook_name": "First Steps"}, documents=documents)
    ada, bob, cy, dee, eve = (make_user() for _ in range(5))
    OnboardingRun.objects.bulk_create(
        [
            run(ada, 0, "completed", 100),
            run(bob, 0, "completed", 300, hour=1),
            run(cy, 0, "completed", 200),
            run(ada, 0, "skipped", 2),
            run(dee, 0, "running"),
            run(dee, 2, "failed", 1000, failed_step="notebook"),
            run(eve, 2, "failed", 3000, failed_step="documents", timed_out=True),
            run(eve, 2, "failed", 20, failed_step=""),
            run(bob, 29, "completed", 50, hour=0),
            run(cy, 30, "completed", 70, hour=23),  # a day too old: not shown
        ]
    )
    for user, status, version in [(ada, "completed", 1), (bob, "completed", 1), (cy, "completed", 2)]:
        UserOnboarding.objects.create(user=user, status=status, blueprint_version=version)
    UserOnboarding.objects.create(user=dee, status="running")
    UserOnboarding.objects.create(user=eve, status="failed")
    return staff


def day_label(days_ago: int) -> str:
    return f"{timezone.localdate() - timedelta(days=days_ago):%Y-%m-%d}"


def test_the_overview_shows_the_seeded_history_day_by_day(client, history):
    client.force_login(history)

    response = client.get(URL)

    assert response.status_code == 200
    tables = Tables(response.content.decode())
    runs = {row[0]: row[1:] for row in tables.starting("Onboarding runs per day")}
    # completed, failed, skipped, running, all
    assert len(runs) == 30
    assert runs[day_label(0)] == ["3", "0", "1", "1", "5"]
    assert runs[day_label(1)] == ["0", "0", "0", "0", "0"]
    assert runs[day_label(2)] == ["0", "3", "0", "0", "3"]
    assert runs[day_label(29)] == ["1", "0", "0", "0", "1"]
    assert day_label(30) not in runs
    assert sum(int(row[-1]) for row in runs.values()) == 9

    durations = {row[0]: row[1:] for row in tables.starting("Duration of completed and failed runs")}
    # Interpolated as PostgreSQL's percentile_cont: p95 of 100, 200, 300 ms is 290 ms.
    assert durations[day_label(0)] == ["3", "200 ms", "290 ms"]
    assert durations[day_label(1)] == ["0", "—", "—"]
    assert durations[day_label(2)] == ["3", "1.0 s", "2.8 s"]
    assert durations[day_label(29)] == ["1", "50 ms", "50 ms"]

    assert tables.starting("Failed runs by step") == [
        ["Personal space", "0", "0"],
        ["Notebook", "1", "0"],
        ["Documents", "1", "1"],
        ["Agent", "0", "0"],
        ["Before the first step", "1", "0"],
    ]
    # The staff user has never been onboarded: not started.
    assert tables.starting("Users by onboarding status") == [
        ["Not started", "1"],
        ["Running", "1"],
        ["Completed", "3"],
        ["Failed", "1"],
    ]
    assert tables.starting("Users by the blueprint version") == [
        ["v1", "2"],
        ["v2 (current)", "1"],
        ["Never completed", "3"],
    ]


def test_the_charts_are_svg_with_titles_and_a_legend_and_no_inline_style(client, history):
    client.force_login(history)

    html = client.get(URL).content.decode()

    assert html.count('<svg class="chart"') == 5
    assert "<script" not in html.split('<div id="content-main"')[1]
    assert "style=" not in html
    assert f"<title>{timezone.localdate():%b} {timezone.localdate().day}: 3 completed</title>" in html
    assert 'class="chart-legend-label">p95</text>' in html


def test_the_admin_index_links_to_the_overview(client, staff):
    client.force_login(staff)

    assert f'href="{URL}"' in client.get("/admin/").content.decode()


def test_onboarding_managers_find_it_on_the_admin_index(manager_client):
    index = manager_client.get("/admin/").content.decode()

    assert f'href="{URL}"' in index
    assert manager_client.get(URL).status_code == 200


def test_staff_need_the_permission_to_view_runs(client, make_user):
    clerk = make_user(is_staff=True, email="clerk@example.com")
    client.force_login(clerk)

    assert client.get(URL).status_code == 403
    assert URL not in client.get("/admin/").content.decode()

    clerk.user_permissions.add(Permission.objects.get(codename="view_onboardingrun"))
    assert client.get(URL).status_code == 200


def test_people_who_are_not_staff_are_sent_to_the_admin_sign_in(client, make_user):
    client.force_login(make_user())

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_same_number_of_queries_for_ten_and_ten_thousand_runs(client, staff, make_user):
    users = [make_user() for _ in range(10)]
    statuses = ["completed"] * 6 + ["failed", "skipped", "running", "completed"]
    steps = ["personal_space", "notebook", "documents", "agent"]

    def seed(count: int) -> None:
        OnboardingRun.objects.bulk_create(
            run(
                users[n % 10],
                n % 31,
                statuses[n % 10],
                40 + n % 97,
                hour=n % 24,
                failed_step=steps[n % 4] if statuses[n % 10] == "failed" else "",
            )
            for n in range(count)
        )

    client.force_login(staff)
    seed(10)
    few = count_queries(client)
    with CaptureQueriesContext(connection) as inserts:
        seed(9_990)
    many = count_queries(client)

    assert len(inserts) == 1, "the history is seeded with one bulk insert"
    assert OnboardingRun.objects.count() == 10_000
    assert few == many
    assert few <= 12


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([100, 200, 300], 0.5, 200), ([100, 200, 300], 0.95, 290), ([1000, 3000], 0.95, 2900), ([7], 0.95, 7)],
)
def test_percentiles_are_interpolated_as_postgresql_does(values, fraction, expected):
    assert percentile_cont(values, fraction) == pytest.approx(expected)
    if connection.vendor == "postgresql":
        rows = " UNION ALL ".join(f"SELECT {value} AS ms" for value in values)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT percentile_cont({fraction}) WITHIN GROUP (ORDER BY ms) FROM ({rows}) AS t"
            )
            assert cursor.fetchone()[0] == pytest.approx(expected)


def test_a_percentile_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="fraction from 0 to 1"):
        PercentileCont("duration_ms", 95)


SQLITE_SCRIPT = """
import django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from accounts.services import user_create
from onboarding.models import OnboardingRun

call_command("migrate", verbosity=0)
staff = user_create(sub="staff", email="staff@example.com", is_staff=True, is_superuser=True)
now = timezone.now()
OnboardingRun.objects.bulk_create(
    OnboardingRun(user=staff, trigger="login", status="completed", started_at=now, duration_ms=ms)
    for ms in (100, 200, 300)
)
client = Client()
client.force_login(staff)
response = client.get("/admin/onboarding/overview/")
print(response.status_code)
print(response.content.decode())
"""


def test_the_overview_renders_on_sqlite_as_make_run_uses_it(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aether.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    status, html = result.stdout.split("\n", 1)
    assert status == "200"
    durations = Tables(html).starting("Duration of completed and failed runs")
    assert durations[-1] == [f"{timezone.localdate():%Y-%m-%d}", "3", "200 ms", "290 ms"]
