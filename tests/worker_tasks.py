"""A task for the worker's tests only: Aether itself defines its tasks in the apps that own their data."""

import os

from django_tasks import task


@task()
def report_process(greeting: str) -> dict[str, object]:
    """Answer which process ran it, so a test can tell that the worker did, not the test."""
    return {"greeting": greeting, "pid": os.getpid()}
