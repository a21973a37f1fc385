"""Writes that need a row another request may delete at the same moment.

A service that writes under a parent (a document under its notebook, a member under a space) or
rewrites a row it read a moment ago holds or locks that row first, inside its transaction. A
concurrent delete then either waits for the write to commit, or has committed already and the
service finds the row gone: it raises the model's ``DoesNotExist``, which the API and the pages answer
with 404 ("as if it never was"), never Django's "did not affect any rows", a row brought back by an
update that fell through to an insert, or a foreign key violation at commit (all 500s).

Deletes lock the row they delete first (``lock_row(..., delete=True)``), before Django collects what
depends on it, so a child written meanwhile is either collected too or refused. A delete that reaches
further (a space with its notebooks and their documents, from the admin) locks every row it will
delete before it deletes (``delete_locked``).
"""

from collections.abc import Iterable

from django.db import connection, models, transaction
from django.db.models.deletion import Collector
from django.utils import timezone


def hold_rows(model: type[models.Model], pks: Iterable[object]) -> set:
    """Of ``pks``, the ones whose rows exist, kept from being deleted until the transaction ends.

    ``FOR KEY SHARE`` on PostgreSQL: the lock a foreign key check takes, so updates of those rows go
    on and only their deletion waits. Other databases (SQLite, for ``make run``) write one at a time.
    """
    pks = list(pks)
    if not pks:
        return set()
    if connection.vendor != "postgresql":
        return set(model._base_manager.filter(pk__in=pks).values_list("pk", flat=True))
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.pk.column)
    # Django's select_for_update has no KEY SHARE; the names are the model's own, quoted.
    query = f"SELECT {column} FROM {table} WHERE {column} = ANY(%s) FOR KEY SHARE"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [pks])
        return {row[0] for row in cursor.fetchall()}


def hold_row(model: type[models.Model], pk: object) -> None:
    """``hold_rows`` for one row; ``model.DoesNotExist`` when it is gone."""
    if not hold_rows(model, [pk]):
        raise _gone(model, pk)


def lock_row(model: type[models.Model], pk: object, *, delete: bool = False) -> None:
    """Lock the row to rewrite it (``FOR NO KEY UPDATE``) or to delete it (``FOR UPDATE``) until the
    transaction ends; ``model.DoesNotExist`` when it is gone."""
    rows = model._base_manager.select_for_update(no_key=not delete).filter(pk=pk)
    if not rows.values_list("pk", flat=True).first():
        raise _gone(model, pk)


def delete_locked(queryset: models.QuerySet) -> tuple[int, dict[str, int]]:
    """Delete ``queryset``'s rows and everything Django deletes with them, as ``queryset.delete()``
    does, after locking (``FOR UPDATE``) each of those rows; answer what ``delete()`` answers.

    A writer adds a child under a parent holding the parent's row (``hold_row``, or the foreign key
    check's own lock). Django collects the children first and deletes the parents last, so a child
    added under a collected parent in between would fail the parent's delete with a foreign key
    violation. Locking the rows first waits for such writers to commit; Django's own collection, made
    after the locks, then finds their children too, and no new ones can come.
    """
    model, using = queryset.model, queryset.db

    def lock(model: type[models.Model], pks: Iterable[object]) -> list:
        rows = model._base_manager.using(using).filter(pk__in=list(pks)).select_for_update()
        return list(rows.order_by("pk").values_list("pk", flat=True))

    with transaction.atomic(using=using):
        # By key: the caller's queryset may be annotated (the admin's counts), which FOR UPDATE refuses.
        pks = lock(model, queryset.values_list("pk", flat=True))
        collector = Collector(using=using)
        collector.collect(list(model._base_manager.using(using).filter(pk__in=pks)))
        for dependent, instances in collector.data.items():
            if dependent._meta.concrete_model is not model._meta.concrete_model:
                lock(dependent, (instance.pk for instance in instances))
        return model._base_manager.using(using).filter(pk__in=pks).delete()


def touch_row(instance: models.Model, field: str = "updated_at") -> None:
    """Set the row's ``field`` to now, locking it as an update does; ``DoesNotExist`` when it is gone.

    One statement that affects no row when the row was deleted, where ``save(update_fields=...)``
    would raise "did not affect any rows".
    """
    model = type(instance)
    now = timezone.now()
    if not model._base_manager.filter(pk=instance.pk).update(**{field: now}):
        raise _gone(model, instance.pk)
    setattr(instance, field, now)


def _gone(model: type[models.Model], pk: object) -> Exception:
    return model.DoesNotExist(f"{model._meta.verbose_name} {pk} no longer exists.")
