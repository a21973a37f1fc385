"""Notebook search: a generated lower-cased ``search_text`` and, on PostgreSQL, its trigram index.

``search_text LIKE '%query%'`` is a substring match that a B-tree cannot serve; pg_trgm's GIN
operator class can, for any query of three or more characters. SQLite (``make run``) gets the column
but neither the extension nor the index, which it could not build.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models.functions import Cast, Concat, Lower


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """``RunSQL`` that does nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("notebooks", "0001_initial"),
    ]

    operations = [
        # Skipped by Django itself on databases other than PostgreSQL.
        TrigramExtension(),
        migrations.AddField(
            model_name="notebook",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=Lower(
                    Concat(
                        "name",
                        models.Value(" "),
                        "description",
                        models.Value(" "),
                        Cast("tags", models.TextField()),
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        RunSQLOnPostgreSQL(
            sql="CREATE INDEX notebook_search_trgm ON notebooks_notebook "
            "USING gin (search_text gin_trgm_ops)",
            reverse_sql="DROP INDEX IF EXISTS notebook_search_trgm",
        ),
    ]
