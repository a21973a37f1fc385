"""What a roll-out changes for one user, decided once, for the run and for the preview alike.

A user received each sample document as a version gave it (``UserOnboarding.received``: the name and
the text's SHA-256 it had). Comparing that with their copy today, by key, tells what they did with it,
and so what bringing them to a newer version may change:

* a sample whose key they never received is added;
* a sample they kept as it came gets the newer version's text, and its name unless they renamed it;
* a name they changed is kept, a text they edited is kept, and a sample they deleted stays deleted;
* with their onboarding notebook deleted, nothing is added: it is not brought back either.

``upgrade_for`` decides this from what a batch of users' reads found; ``rollouts`` writes it,
``rollout_preview`` counts it over every user a roll-out would reach, in a fixed number of queries.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models.functions import SHA256

from notebooks.models import Document
from onboarding.models import Blueprint, OnboardingStatus, UserOnboarding
from onboarding.selectors import blueprint_samples
from onboarding.steps import NOTEBOOK_KEY, Receipt, Sample


class TextSHA256(SHA256):
    """A text's SHA-256 in hex, computed by the database: a user's copy is compared without reading it.

    PostgreSQL's own ``sha256()`` (Django's ``SHA256`` asks for the pgcrypto extension there).
    """

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')",
            **extra_context,
        )


@dataclass(frozen=True)
class HeldDocument:
    """A user's copy of a sample document as it is now."""

    id: uuid.UUID
    key: str
    name: str
    sha256: str


@dataclass(frozen=True)
class Replacement:
    """A copy the user left as it came, and what of the newer sample it takes."""

    document: HeldDocument
    sample: Sample
    text: bool
    name: bool


@dataclass
class Upgrade:
    """What bringing one user to ``version`` does; the lists hold the names a person recognises."""

    version: int
    add: list[Sample] = field(default_factory=list)
    replace: list[Replacement] = field(default_factory=list)
    kept_renamed: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)
    no_notebook: list[str] = field(default_factory=list)
    # The user's receipts once this is written.
    received: dict[str, Receipt] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """How many documents each change touches, by the names of ``CHANGES``."""
        return {
            "documents_added": len(self.add),
            "texts_updated": sum(r.text for r in self.replace),
            "names_updated": sum(r.name for r in self.replace),
            "kept_renamed": len(self.kept_renamed),
            "kept_edited": len(self.kept_edited),
            "kept_deleted": len(self.kept_deleted),
            "no_notebook": len(self.no_notebook),
        }


# The changes a roll-out makes or leaves out, as staff read them.
CHANGES: tuple[tuple[str, str], ...] = (
    ("documents_added", "documents added"),
    ("texts_updated", "texts updated"),
    ("names_updated", "names updated"),
    ("kept_renamed", "renamed by the user: their name is kept"),
    ("kept_edited", "edited by the user: their text is kept"),
    ("kept_deleted", "deleted by the user: stays deleted"),
    ("no_notebook", "notebook deleted by the user: nothing added"),
)


def upgrade_for(
    *,
    samples: Sequence[Sample],
    version: int,
    received: Mapping[str, Receipt],
    held: Mapping[str, HeldDocument],
    has_notebook: bool,
) -> Upgrade:
    """What bringing a user who received ``received`` and holds ``held`` (by key) to ``version`` does."""
    upgrade = Upgrade(version=version, received=dict(received))
    for sample in samples:
        receipt, document = received.get(sample.key), held.get(sample.key)
        if document is None and receipt is None:
            if has_notebook:
                upgrade.add.append(sample)
                upgrade.received[sample.key] = sample.receipt(version)
            else:
                upgrade.no_notebook.append(sample.name)
        elif document is None:
            upgrade.kept_deleted.append(str(receipt["name"]))
        elif receipt is not None:
            _compare(upgrade, sample, receipt, document)
        # A copy held without a receipt predates the record of receipts: it is left as it is.
    return upgrade


def _compare(upgrade: Upgrade, sample: Sample, receipt: Receipt, document: HeldDocument) -> None:
    renamed = document.name != receipt["name"]
    edited = document.sha256 != receipt["sha256"]
    if renamed:
        upgrade.kept_renamed.append(document.name)
    if edited:
        upgrade.kept_edited.append(document.name)
    text = not edited and sample.sha256 != receipt["sha256"]
    name = not renamed and sample.name != receipt["name"]
    if text or name:
        upgrade.replace.append(Replacement(document, sample, text=text, name=name))
        # The name stays the one received when the user changed it, so the change stays recognisable.
        upgrade.received[sample.key] = {
            "version": upgrade.version,
            "name": sample.name if name else receipt["name"],
            "sha256": sample.sha256 if text else receipt["sha256"],
        }


def held_documents(owner_ids: Iterable[object]) -> dict[object, dict[str, HeldDocument]]:
    """The sample documents the users hold in their onboarding notebooks, by user and key (one query)."""
    rows = (
        Document.objects.filter(
            notebook__owner_id__in=list(owner_ids),
            notebook__onboarding_key=NOTEBOOK_KEY,
            onboarding_key__isnull=False,
        )
        .annotate(sha256=TextSHA256("content"))
        .values_list("notebook__owner_id", "id", "onboarding_key", "name", "sha256")
    )
    held: dict[object, dict[str, HeldDocument]] = {}
    for owner_id, pk, key, name, sha256 in rows:
        held.setdefault(owner_id, {})[key] = HeldDocument(pk, key, name, sha256)
    return held


def users_behind(blueprint: Blueprint):
    """The onboarding states a roll-out to ``blueprint`` reaches: completed with an older version.

    Users whose onboarding has not completed receive the current version when it does.
    """
    return UserOnboarding.objects.filter(
        status=OnboardingStatus.COMPLETED, blueprint_version__lt=blueprint.version
    ).order_by("user_id")


@dataclass
class ChangeCount:
    name: str
    label: str
    users: int = 0
    documents: int = 0
    sample: list[str] = field(default_factory=list)


@dataclass
class RolloutPreview:
    """What rolling ``version`` out would do, counted over every user it reaches."""

    version: int
    users: int
    from_versions: list[int]
    changes: list[ChangeCount]
    # Users it would only record as on ``version``: nothing of theirs changes.
    unchanged_users: int

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "users": self.users,
            "from_versions": self.from_versions,
            "unchanged_users": self.unchanged_users,
            "changes": {
                c.name: {"label": c.label, "users": c.users, "documents": c.documents, "sample": c.sample}
                for c in self.changes
            },
        }


def rollout_preview(blueprint: Blueprint, *, sample_size: int = 5) -> RolloutPreview:
    """Count, per change, the users and documents a roll-out of ``blueprint`` would touch, naming a few.

    Three queries whatever the number of users (their states with their e-mail, the documents they
    hold, and the version's samples once per process), decided by ``upgrade_for`` as the run decides.
    """
    states = list(
        users_behind(blueprint)
        .order_by("user__email")  # the users named per change come alphabetically
        .values_list("user_id", "user__email", "blueprint_version", "received", "notebook_id")
    )
    held = held_documents(user_id for user_id, *_ in states)
    samples = blueprint_samples(blueprint)
    changes = [ChangeCount(name, label) for name, label in CHANGES]
    unchanged = 0
    for user_id, email, _version, received, notebook_id in states:
        upgrade = upgrade_for(
            samples=samples,
            version=blueprint.version,
            received=received or {},
            held=held.get(user_id, {}),
            has_notebook=notebook_id is not None,
        )
        counts = upgrade.counts()
        if not counts["documents_added"] and not counts["texts_updated"] and not counts["names_updated"]:
            unchanged += 1
        for change in changes:
            if counts[change.name]:
                change.users += 1
                change.documents += counts[change.name]
                if len(change.sample) < sample_size:
                    change.sample.append(email)
    return RolloutPreview(
        version=blueprint.version,
        users=len(states),
        from_versions=sorted({version for _, _, version, _, _ in states}),
        changes=changes,
        unchanged_users=unchanged,
    )
