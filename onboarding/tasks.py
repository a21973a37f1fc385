"""Background tasks (Django's Tasks framework, run by ``manage.py db_worker``): each calls one service."""

from django_tasks import task

from onboarding import rollouts


@task()
def rollout_batch(rollout_id: int, ticket: str) -> None:
    """The next batch of a roll-out; it queues the one after, or finishes the roll-out."""
    rollouts.rollout_run_batch(rollout_id=rollout_id, ticket=ticket)
