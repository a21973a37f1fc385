"""Notebook search: ``search_text`` becomes a plain column that ``Notebook.save()`` maintains.

The generated column matched the JSON text of the tags, so a query of ``", "`` found every notebook
with two tags and a tag with a quote could not be found as typed. The new text joins name,
description and each tag with a separator no query may contain. The trigram index (PostgreSQL only,
as in 0002) is dropped with the old column and built again on the new one once it is filled.
"""

from django.db import migrations, models

SEPARATOR = "\x1f"


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """``RunSQL`` that does nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def fill_search_text(apps, schema_editor):
    """What ``notebooks.models.notebook_search_text`` computes, as of this migration."""
    Notebook = apps.get_model("notebooks", "Notebook")
    notebooks = Notebook.objects.using(schema_editor.connection.alias).only("name", "description", "tags")
    batch = []
    for notebook in notebooks.iterator(chunk_size=2000):
        tags = [str(tag) for tag in notebook.tags] if isinstance(notebook.tags, list) else []
        notebook.search_text = SEPARATOR.join([notebook.name, notebook.description, *tags]).lower()
        batch.append(notebook)
        if len(batch) == 2000:
            Notebook.objects.using(schema_editor.connection.alias).bulk_update(batch, ["search_text"])
            batch = []
    Notebook.objects.using(schema_editor.connection.alias).bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("notebooks", "0003_text_lengths"),
    ]

    operations = [
        RunSQLOnPostgreSQL(
            sql="DROP INDEX IF EXISTS notebook_search_trgm",
            reverse_sql="CREATE INDEX notebook_search_trgm ON notebooks_notebook "
            "USING gin (search_text gin_trgm_ops)",
        ),
        migrations.RemoveField(model_name="notebook", name="search_text"),
        migrations.AddField(
            model_name="notebook",
            name="search_text",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        RunSQLOnPostgreSQL(
            sql="CREATE INDEX notebook_search_trgm ON notebooks_notebook "
            "USING gin (search_text gin_trgm_ops)",
            reverse_sql="DROP INDEX IF EXISTS notebook_search_trgm",
        ),
    ]
