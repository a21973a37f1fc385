"""``manage.py blueprint export`` and ``publish``: the blueprint as a file, through the admin's own service.

Each bad file below is something a hand edit, a merge gone wrong or a hostile file could hold: it is
refused before anything is written, with every problem named by where it is in the file.
"""

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError

from onboarding.models import Blueprint, BlueprintDocument
from onboarding.selectors import blueprint_current
from onboarding.tests.operator import ROOT, operator_environment

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = ["version", "created_at", "note", "space_name_template", "notebook", "documents", "agent"]


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def blueprint_command(*args: str, stdin: bytes | None = None, monkeypatch=None) -> Outcome:
    """Run ``manage.py blueprint ARGS`` in this process; its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    try:
        call_command("blueprint", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return Outcome(exc.returncode, out.getvalue(), err.getvalue())
    return Outcome(0, out.getvalue(), err.getvalue())


def exported(*args: str) -> dict:
    outcome = blueprint_command("export", *args)
    assert outcome.code == 0, outcome.err
    return json.loads(outcome.out)


def write(tmp_path: Path, content: dict | str | bytes, name: str = "blueprint.json") -> str:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content, indent=2, ensure_ascii=False)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def versions() -> list[int]:
    return list(Blueprint.objects.order_by("version").values_list("version", flat=True))


# Export


def test_export_prints_the_current_version_in_the_contracts_shape():
    current = blueprint_current()

    data = exported()

    assert list(data) == CONTRACT_KEYS
    assert data["version"] == current.version
    assert data["note"] == current.change_note
    assert data["space_name_template"] == "{name}'s Personal Space"
    assert data["notebook"] == {
        "name": current.notebook_name,
        "description": current.notebook_description,
        "tags": current.notebook_tags,
        "visibility": current.notebook_visibility,
    }
    assert " ".join(data["agent"]) == "name description type model temperature max_tokens system_prompt tags"
    assert data["agent"]["temperature"] == 0.7 and data["agent"]["max_tokens"] == 2000
    documents = current.documents.order_by("order")
    assert data["documents"] == [
        {"key": d.key, "name": d.name, "content": d.content, "order": d.order} for d in documents
    ]
    assert [d["key"] for d in data["documents"]] == ["welcome", "quick-start", "faq"]


def test_export_names_an_older_version_and_refuses_one_that_does_not_exist(tmp_path):
    first = exported()
    edited = {**first, "note": "Rename the notebook", "notebook": {**first["notebook"], "name": "Start here"}}
    assert blueprint_command("publish", write(tmp_path, edited)).code == 0

    assert exported(str(first["version"]))["notebook"]["name"] == first["notebook"]["name"]
    assert exported()["notebook"]["name"] == "Start here"
    missing = blueprint_command("export", "99")
    assert missing.code == 1
    assert f"There is no blueprint version 99; the versions are 1 to {first['version'] + 1}." in missing.err
    with pytest.raises(CommandError, match="a version is a whole number from 1"):
        call_command("blueprint", "export", "first")


# Publish


def test_export_edit_publish_round_trips_a_version_exactly(tmp_path):
    edited = exported()
    before = edited["version"]
    edited["note"] = "Shorter welcome, release notes, no quick start"
    edited["notebook"]["name"] = "Start here"
    edited["notebook"]["tags"] = ["welcome", "start"]
    edited["agent"]["temperature"] = 0.25
    edited["agent"]["system_prompt"] += " Keep answers short."
    edited["documents"][0]["name"] = "Welcome.txt"
    edited["documents"][2]["content"] += "Q: Is there more?\nA: Yes, the release notes.\n"
    del edited["documents"][1]
    edited["documents"].append(
        {"key": "release-notes", "name": "Release notes.txt", "content": "Version 2.\n", "order": 4}
    )

    outcome = blueprint_command("publish", write(tmp_path, edited))

    assert outcome.code == 0, outcome.err
    assert outcome.out == f"published version {before + 1}\n"
    again = exported()
    assert again["version"] == before + 1
    assert {**again, "version": None, "created_at": None} == {**edited, "version": None, "created_at": None}
    # And the file of the new version publishes nothing more.
    unchanged = blueprint_command("publish", write(tmp_path, again, "again.json"))
    assert unchanged.code == 0
    assert unchanged.out == f"Nothing changed since version {before + 1}, so nothing was published.\n"


def test_publishing_goes_through_the_admins_service_with_its_keys_and_records(tmp_path):
    edited = exported()
    edited["documents"].append({"name": "Release notes.txt", "content": "Version 2.\n", "order": 4})

    outcome = blueprint_command("publish", write(tmp_path, edited), "--note", "Add release notes")

    assert outcome.code == 0, outcome.err
    published = blueprint_current()
    assert published.change_note == "Add release notes"
    # A document without a key gets one from its name, as on the admin's page.
    assert published.documents.filter(key="release-notes", name="Release notes.txt").exists()


def test_version_and_created_at_in_the_file_are_ignored(tmp_path):
    edited = exported()
    edited.update(version=77, created_at="yesterday", note="Rename the notebook")
    edited["notebook"]["name"] = "Start here"

    outcome = blueprint_command("publish", write(tmp_path, edited))

    assert outcome.code == 0, outcome.err
    assert versions()[-1] == 2 and blueprint_current().notebook_name == "Start here"


def test_publish_reads_the_file_from_standard_input(monkeypatch):
    edited = exported()
    edited["notebook"]["name"] = "Read from stdin"

    outcome = blueprint_command(
        "publish", "-", "--note", "From a pipe", stdin=json.dumps(edited).encode(), monkeypatch=monkeypatch
    )

    assert outcome.code == 0, outcome.err
    assert blueprint_current().notebook_name == "Read from stdin"
    assert blueprint_current().change_note == "From a pipe"


def test_a_dry_run_lists_the_differences_by_the_files_names_and_writes_nothing(tmp_path):
    edited = exported()
    edited["notebook"]["name"] = "Start here"
    edited["agent"]["system_prompt"] += "\nKeep answers short."
    edited["documents"][0]["name"] = "Welcome.txt"
    edited["documents"][0]["order"] = 5
    edited["documents"][2]["content"] += "Q: Is there more?\nA: Yes.\n"
    del edited["documents"][1]
    edited["documents"].append(
        {"key": "release-notes", "name": "Release notes.txt", "content": "a\nb\n", "order": 4}
    )
    edited["note"] = "Tidy up"
    rows = (Blueprint.objects.count(), BlueprintDocument.objects.count(), LogEntry.objects.count())
    faq_lines = len(blueprint_current().documents.get(key="faq").content.splitlines())

    outcome = blueprint_command("publish", write(tmp_path, edited), "--dry-run")

    assert outcome.code == 0, outcome.err
    version = edited["version"]
    assert outcome.out.splitlines() == [
        f"The file is valid. As version {version + 1}, it would change from version {version}, "
        "the current one:",
        '  notebook.name: "Getting Started" → "Start here"',
        "  agent.system_prompt: text changed: 1 line added, 0 lines removed (1 → 2 lines)",
        "  documents[key=faq]: text changed: 2 lines added, 0 lines removed "
        f"({faq_lines} → {faq_lines + 2} lines)",
        '  documents[key=release-notes]: added "Release notes.txt", order 4, 2 lines',
        '  documents[key=welcome]: name "Welcome to Aether.txt" → "Welcome.txt"; order 1 → 5',
        '  documents[key=quick-start]: removed "Quick Start Guide.txt"',
        "Note: Tidy up",
        "Nothing was published (--dry-run).",
    ]
    assert (Blueprint.objects.count(), BlueprintDocument.objects.count(), LogEntry.objects.count()) == rows


def test_a_dry_run_of_the_current_content_says_it_would_publish_nothing(tmp_path):
    current = exported()

    outcome = blueprint_command("publish", write(tmp_path, current), "--dry-run")

    assert outcome.code == 0
    assert outcome.out == (
        f"The file is valid and the same as version {current['version']}, the current one: "
        "publishing it would publish nothing.\n"
    )


def test_a_dry_run_of_an_invalid_file_names_the_problems_and_exits_1(tmp_path):
    bad = exported()
    bad["agent"]["max_tokens"] = 0

    outcome = blueprint_command("publish", write(tmp_path, bad), "--dry-run")

    assert outcome.code == 1
    assert "agent.max_tokens: Ensure this value is greater than or equal to 1." in outcome.err
    assert outcome.out == ""


# Bad input: refused before anything is written, each problem named by where it is.


def edit(change):
    """A bad file made from the current export by ``change(data)``; returns the file's bytes."""

    def make() -> bytes:
        data = exported()
        change(data)
        return json.dumps(data).encode()

    return make


def raw(content: bytes):
    return lambda: content


def set_in(path: str, value):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return edit(change)


def delete(path: str):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[int(last) if last.isdigit() else last]

    return edit(change)


def with_repeated_key(text_before: str, repeated: str):
    """The export's JSON text with ``repeated`` inserted right after the first ``text_before``."""

    def make() -> bytes:
        text = json.dumps(exported())
        return text.replace(text_before, f"{text_before} {repeated}", 1).encode()

    return make


BAD_FILES = {
    "not UTF-8": (
        raw(b'{"note": "caf\xe9"}'),
        ["(file): The file is not UTF-8 text: the byte 0xe9 on line 1"],
    ),
    "not JSON": (raw(b'{"note": "x",\n}'), ["(file): The file is not JSON: Expecting property name"]),
    "empty": (raw(b""), ["(file): The file is not JSON: Expecting value (line 1, column 1)."]),
    "NaN": (
        set_in("agent.temperature", float("nan")),
        ["(file): The file is not JSON a blueprint can hold: NaN"],
    ),
    "nested too deeply": (raw(b"[" * 100_000), ["(file): The file nests arrays or objects too deeply"]),
    "not an object": (raw(b"[1, 2]"), ["(file): A blueprint file is one JSON object"]),
    "nested too deeply in a value": (
        set_in("notebook.tags", [[[[[[[["welcome"]]]]]]]]),
        ["notebook.tags[0][0][0][0][0][0]: Arrays and objects are nested too deeply here"],
    ),
    "half a character in a key": (
        set_in("agent.\udc00key", "x"),
        ["'agent.\\udc00key: Unknown field"],
    ),
    "a key of a million characters": (
        set_in("agent." + "k" * 1_000_000, "x"),
        [f'agent.{"k" * 59}…: Unknown field "{"k" * 59}…"'],
    ),
    "half a character": (
        set_in("documents.0.content", "caf\ud800"),
        ["documents[0].content: Must not contain a lone surrogate"],
    ),
    "repeated top-level key": (
        with_repeated_key('"note":', '"x", "note":'),
        ['note: The key "note" is written more than once in the same object; write it once.'],
    ),
    "repeated document key": (
        with_repeated_key('{"key": "faq",', '"name": "FAQ.txt",'),
        ['documents[2].name: The key "name" is written more than once'],
    ),
    "unknown top-level field": (
        set_in("colour", "red"),
        [
            'colour: Unknown field "colour"; the fields here are version, created_at, note, '
            "space_name_template, notebook, documents, agent."
        ],
    ),
    "unknown notebook field": (set_in("notebook.owner", "me"), ['notebook.owner: Unknown field "owner"']),
    "unknown agent field": (set_in("agent.api_key", "sk-1"), ['agent.api_key: Unknown field "api_key"']),
    "unknown document field": (
        set_in("documents.1.path", "/etc/passwd"),
        ['documents[1].path: Unknown field "path"; the fields here are key, name, content, order.'],
    ),
    "missing section": (delete("agent"), ["agent: This field is missing."]),
    "missing notebook field": (delete("notebook.name"), ["notebook.name: This field is missing."]),
    "missing agent field": (delete("agent.temperature"), ["agent.temperature: This field is missing."]),
    "missing document field": (
        delete("documents.0.content"),
        ["documents[0].content: This field is missing."],
    ),
    "section not an object": (
        set_in("notebook", ["Getting Started"]),
        ["notebook: The notebook is an object"],
    ),
    "documents not a list": (
        set_in("documents", {"welcome": "hi"}),
        ["documents: The documents are a list."],
    ),
    "document not an object": (
        set_in("documents.1", "Quick Start Guide.txt"),
        ["documents[1]: Each document is"],
    ),
    "tags not a list": (
        set_in("notebook.tags", "welcome"),
        ["notebook.tags: Tags must be a list of strings."],
    ),
    "temperature not a number": (set_in("agent.temperature", "hot"), ["agent.temperature: Enter a number"]),
    "max_tokens not whole": (set_in("agent.max_tokens", 1.5), ["agent.max_tokens: Enter a whole number"]),
    "order not a number": (set_in("documents.2.order", "3"), ["documents[2].order: Enter a whole number"]),
    "order out of range": (
        set_in("documents.2.order", 0),
        ["documents[2].order: Enter a number from 1 to 1000."],
    ),
    "content not text": (set_in("documents.0.content", 5), ["documents[0].content: Enter text."]),
    "name not text": (set_in("notebook.name", None), ["notebook.name: Enter text."]),
    "unknown visibility": (
        set_in("notebook.visibility", "everyone"),
        ["notebook.visibility: Value 'everyone'"],
    ),
    "invalid placeholder": (
        set_in("space_name_template", "{user.password}'s space"),
        ["space_name_template: Unknown placeholder {user.password}: the only one is {name}"],
    ),
    "stray brace": (
        set_in("space_name_template", "{name}'s {space"),
        ["space_name_template: Braces are only for"],
    ),
    "huge system prompt": (
        set_in("agent.system_prompt", "x" * 32_001),
        ["agent.system_prompt: Ensure this value"],
    ),
    "huge document": (
        set_in("documents.0.content", "x" * 10_485_761),
        ["documents[0].content: A sample document may be at most 10.0 MB"],
    ),
    "10,000 documents": (
        set_in("documents", [{"name": f"{n}.txt", "content": "x", "order": n + 1} for n in range(10_000)]),
        ["documents: A blueprint has at most 50 sample documents."],
    ),
    "duplicate document keys": (
        set_in("documents.1.key", "welcome"),
        ["documents[1].key: The key “welcome” is used twice; each document needs its own."],
    ),
    "duplicate document names": (
        set_in("documents.2.name", "welcome to aether.txt"),
        ["documents[2].name: The name “welcome to aether.txt” is used twice"],
    ),
    "duplicate document orders": (
        set_in("documents.2.order", 1),
        ["documents[2].order: The order 1 is used twice"],
    ),
    "empty note": (set_in("note", "  "), ['note: Say what this version changes and why (the file\'s "note"']),
    "note not text": (set_in("note", ["v2"]), ["note: Enter text."]),
}


@pytest.mark.parametrize("make, expected", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_refused_with_each_problem_named_and_nothing_written(tmp_path, make, expected):
    content = make()
    rows = (Blueprint.objects.count(), BlueprintDocument.objects.count())

    outcome = blueprint_command("publish", write(tmp_path, content))

    assert outcome.code == 1, outcome.out
    for line in expected:
        assert any(problem.startswith(line) for problem in outcome.err.splitlines()), outcome.err
    assert outcome.err.splitlines()[-1].endswith("nothing was published.")
    assert outcome.out == ""
    assert (Blueprint.objects.count(), BlueprintDocument.objects.count()) == rows


def test_every_problem_of_a_file_is_named_at_once_in_the_files_order(tmp_path):
    data = exported()
    data["colour"] = "red"
    data["space_name_template"] = "{nam}'s space"
    data["notebook"]["tags"] = "welcome"
    del data["notebook"]["name"]
    data["documents"][0]["path"] = "/etc"
    data["documents"][1]["order"] = 1
    data["agent"]["temperature"] = 3

    outcome = blueprint_command("publish", write(tmp_path, data))

    assert outcome.code == 1
    assert [line.split(":", 1)[0] for line in outcome.err.splitlines()] == [
        "space_name_template",
        "notebook.name",
        "notebook.tags",
        "documents[0].path",
        "documents[1].order",
        "agent.temperature",
        "colour",
        "CommandError",
    ]
    # A missing field is said once, not also as a blank one.
    assert outcome.err.count("notebook.name") == 1
    assert "CommandError: 7 problems in" in outcome.err


def test_a_hostile_file_shows_the_first_hundred_problems_and_counts_the_rest(tmp_path):
    data = exported()
    data["documents"] = [{"name": f"{n}.txt", "content": "x", "order": n + 1, "x": 1} for n in range(50)]
    data["notebook"].update({f"extra{n}": n for n in range(80)})

    outcome = blueprint_command("publish", write(tmp_path, data))

    lines = outcome.err.splitlines()
    assert outcome.code == 1
    assert len(lines) == 102
    assert lines[-2] == "… and 30 more problems."
    assert lines[-1].startswith("CommandError: 130 problems in")


def test_control_characters_in_a_file_cannot_reach_the_terminal_raw(tmp_path):
    data = exported()
    data["notebook"]["\x1b[2Jowner"] = "x"

    outcome = blueprint_command("publish", write(tmp_path, data))

    assert outcome.code == 1
    assert "\x1b" not in outcome.err
    assert "\\x1b[2Jowner" in outcome.err


def test_a_file_larger_than_the_admins_form_is_refused_unread(tmp_path, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    outcome = blueprint_command("publish", write(tmp_path, b" " * 1001))

    assert outcome.code == 1
    assert "(file): The file is larger than 1,000 bytes" in outcome.err


def test_a_file_that_does_not_exist_or_is_a_directory_is_named(tmp_path):
    missing = blueprint_command("publish", str(tmp_path / "nowhere.json"))
    directory = blueprint_command("publish", str(tmp_path))

    assert missing.code == 1
    assert f"{tmp_path / 'nowhere.json'}: there is no such file." in missing.err
    assert directory.code == 1
    assert "this is a directory, not a file." in directory.err
    assert versions() == [1]


# As an operator runs it: its own process, pipes, exit statuses.


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_operator_exports_edits_and_publishes_through_a_pipe():
    def manage(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "blueprint", *args],
            cwd=ROOT,
            env=operator_environment(),
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )

    export = manage("export")
    assert export.returncode == 0, export.stderr
    data = json.loads(export.stdout)
    data["notebook"]["name"] = "Start here"
    data["agent"]["tags"] = "default"

    refused = manage("publish", "-", "--note", "Rename", stdin=json.dumps(data).encode())
    assert refused.returncode == 1
    assert refused.stderr.decode().splitlines() == [
        "agent.tags: Tags must be a list of strings.",
        "CommandError: 1 problem in standard input; nothing was published.",
    ]

    data["agent"]["tags"] = ["default"]
    published = manage("publish", "-", "--note", "Rename", stdin=json.dumps(data).encode())
    assert published.returncode == 0, published.stderr
    assert published.stdout.decode() == f"published version {data['version'] + 1}\n"
    assert blueprint_current().notebook_name == "Start here"
