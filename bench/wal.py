"""How many bytes of write-ahead log some work wrote.

``pg_current_wal_insert_lsn()`` before and after, with ``pg_wal_lsn_diff``, counts every byte the server
logged in between, other databases' included: on a server shared with other work that is only an upper
bound. With the ``pg_walinspect`` extension (PostgreSQL 15 and newer, one of the server's contrib
modules) the records are read back and only this database's are counted: those that touch one of its
relations, and the commit records of the transactions that wrote them.

Those are split into the records themselves and the full-page images some of them carry: the first
change to a page after a checkpoint logs the whole page. How many images a piece of work causes depends
on how often the server checkpoints (every ``checkpoint_timeout``, and whenever a database is dropped),
not on the work: at a steady rate between two checkpoints, they amortise to nearly nothing per run.
"""

import os
from dataclasses import dataclass

import psycopg

# Records of this database name its relations as "rel <tablespace>/<database oid>/<relation>".
_OURS = """
    WITH records AS (
        SELECT xid, record_length, fpi_length, block_ref
        FROM pg_get_wal_records_info(%(start)s, %(end)s)
    ), ours AS (
        SELECT DISTINCT xid FROM records WHERE block_ref ~ %(relation)s AND xid::text <> '0'
    )
    SELECT coalesce(sum(record_length - fpi_length), 0), coalesce(sum(fpi_length), 0) FROM records
    WHERE block_ref ~ %(relation)s OR xid IN (SELECT xid FROM ours)
"""


@dataclass(frozen=True)
class WalBytes:
    server: int  # everything the server logged in the window
    records: int | None  # this database's records, without their page images (None: not inspected)
    page_images: int | None


class WalMeter:
    """The WAL written between ``start()`` and ``stop()``, by work on the database ``url`` names.

    While it measures, a temporary replication slot keeps the server from recycling the WAL it is
    about to read (other databases' checkpoints may come at any moment); the slot goes with this
    meter's connection, whatever happens to the process.
    """

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.database_oid = self.conn.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
        self.slot = f"aether_bench_wal_{os.getpid()}"
        try:
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
            self.inspect = True
        except psycopg.Error:
            self.inspect = False

    def start(self) -> None:
        if self.inspect:
            self.conn.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", [self.slot])
        self.started = self.conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]

    def stop(self) -> WalBytes:
        end = self.conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        server = self.conn.execute("SELECT pg_wal_lsn_diff(%s, %s)", [end, self.started]).fetchone()[0]
        if not self.inspect:
            return WalBytes(server=int(server), records=None, page_images=None)
        try:
            self._wait_for_flush(end)
            records, images = self.conn.execute(
                _OURS, {"start": self.started, "end": end, "relation": f"rel [0-9]+/{self.database_oid}/"}
            ).fetchone()
        finally:
            self.conn.execute("SELECT pg_drop_replication_slot(%s)", [self.slot])
        return WalBytes(server=int(server), records=int(records), page_images=int(images))

    def _wait_for_flush(self, lsn: str) -> None:
        """pg_walinspect reads only WAL flushed to disk; a commit flushes its own, others may lag."""
        for _ in range(500):
            if self.conn.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]:
                return
            self.conn.execute("SELECT pg_sleep(0.01)")
        raise RuntimeError(f"the server did not flush its WAL up to {lsn} within 5 s")

    def close(self) -> None:
        self.conn.close()
