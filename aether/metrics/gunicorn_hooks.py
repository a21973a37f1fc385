"""gunicorn server hooks for the Prometheus client's multiprocess mode (wired in ``gunicorn.conf.py``).

They run in gunicorn's master process, where Django is not set up: nothing here imports it.
"""

import os
from pathlib import Path

# From aether.metrics, which settles the variable before the Prometheus client is first imported.
from aether.metrics import MULTIPROCESS_DIR_VARIABLE, mark_process_dead


def on_starting(server) -> None:
    """Before any worker starts: empty the multiprocess directory, or warn that there is none.

    Files left by an earlier server (a restarted container keeps its Kubernetes ``emptyDir``) would
    otherwise be added to this server's figures.
    """
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if directory is None:
        if server.cfg.workers > 1:
            server.log.warning(
                "%s is not set: each of the %d workers keeps its own metrics, and /metrics shows only "
                "those of the worker that answers the scrape.",
                MULTIPROCESS_DIR_VARIABLE,
                server.cfg.workers,
            )
        return
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        stale = list(path.glob("*.db"))
        for file in stale:
            file.unlink()
    except OSError as exc:
        raise SystemExit(
            f"{MULTIPROCESS_DIR_VARIABLE}={directory!r} is not a usable directory: {exc}"
        ) from exc
    if not os.access(path, os.W_OK):
        raise SystemExit(f"{MULTIPROCESS_DIR_VARIABLE}={directory!r} is not writable by this user.")
    server.log.info("Metrics of all workers are kept in %s (%d stale files removed).", directory, len(stale))


def child_exit(server, worker) -> None:
    """After a worker exits: drop its live gauge values (its counters and histograms still count)."""
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        mark_process_dead(worker.pid)
