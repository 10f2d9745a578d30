"""The indexes FerretDB v1 needs but cannot make, created directly in its PostgreSQL (architecture decision 12).

FerretDB v1 on PostgreSQL stores each MongoDB database as a schema of the same name and each collection as
a table with one `_jsonb` column; `<schema>._ferretdb_database_metadata` maps a collection name to its table
(`{"_id": <collection>, "table": <table>, "uuid": ...}`). A filter's top-level keys with scalar values
reach SQL as `_jsonb->'key' @> '<value>'`; nothing else does (no sorts, ranges, `$in`, `$or`, dotted paths).
FerretDB's own indexes are B-trees on `(_jsonb->'key')`, which `@>` cannot use, so every query scans.
A GIN `jsonb_path_ops` index on the same expression is what PostgreSQL uses for `@>`: this module makes one
for `_id` in every collection and for the equality fields the server's hot queries send (PUSHDOWN_FIELDS),
at start-up and again whenever a collection without them appears (ensure() is cheap when nothing is new).

Runs only when the server talks to FerretDB (`ferretdbVersion` in buildInfo) and was given FerretDB's
PostgreSQL URL (DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL); never against MongoDB, whose declared indexes serve.
A PostgreSQL that is not this FerretDB's (its collection uuids differ) is left alone.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

from uuid import UUID

from bson import Binary
from pymongo.database import Database

log = logging.getLogger(__name__)

METADATA_TABLE = "_ferretdb_database_metadata"
# Equality keys the server's hot queries send as plain top-level keys, per collection (`_id` everywhere).
PUSHDOWN_FIELDS: dict[str, tuple[str, ...]] = {
    "drifts": ("experiment", "bucket", "status", "model", "creator"),
    "events": ("block", "experiment", "drift_id"),
    "experiments": ("name",),
}


def is_ferretdb(db: Database[Any]) -> bool:
    return "ferretdbVersion" in db.client.admin.command("buildInfo")


def index_name(table: str, field: str) -> str:
    """Unique in the schema (PostgreSQL index names are per schema) and within its 63 bytes."""
    return f"dm_gin_{table[:30]}_{field[:12]}_{zlib.crc32(f'{table}.{field}'.encode()):08x}"


def fields_for(collection: str) -> tuple[str, ...]:
    return ("_id", *PUSHDOWN_FIELDS.get(collection, ()))


class FerretIndexes:
    """GIN indexes for one database; ensure() creates what is missing and returns what it created."""

    def __init__(self, db: Database[Any], postgresql_url: str) -> None:
        self._db = db
        self._url = postgresql_url
        self._done: set[str] = set()  # uuids of collections already indexed by this process

    def _connect(self) -> Any:
        import psycopg  # only the embedded database needs it; production (MongoDB) never imports it

        return psycopg.connect(self._url, autocommit=True, connect_timeout=10)

    def ensure(self) -> list[str]:
        uuids = {
            info["name"]: _uuid_text(info.get("info", {}).get("uuid"))
            for info in self._db.command("listCollections", nameOnly=False)["cursor"]["firstBatch"]
        }
        if not set(uuids.values()) - self._done:
            return []
        created: list[str] = []
        schema = self._db.name
        with self._connect() as connection:
            # One creator at a time per database: two servers starting together must not race on a name.
            connection.execute("SELECT pg_advisory_lock(%s)", (zlib.crc32(schema.encode()),))
            try:
                rows = connection.execute(
                    f'SELECT _jsonb->>\'_id\', _jsonb->>\'table\', _jsonb->>\'uuid\' FROM "{_ident(schema)}".{METADATA_TABLE}'
                ).fetchall()
                existing = {row[0] for row in connection.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}
                for collection, table, uuid in rows:
                    if uuids.get(collection) != uuid:
                        if collection in uuids:
                            log.warning("FerretDB's PostgreSQL does not hold collection %s as this server sees it; no indexes made", collection)
                        continue
                    for field in fields_for(collection):
                        name = index_name(table, field)
                        if name not in existing:
                            connection.execute(
                                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{_ident(schema)}"."{_ident(table)}" '
                                f"USING gin ((_jsonb->'{_literal(field)}') jsonb_path_ops)"
                            )
                            created.append(name)
                    self._done.add(uuid)
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (zlib.crc32(schema.encode()),))
        if created:
            log.info("FerretDB: made %d GIN indexes in PostgreSQL schema %s", len(created), schema)
        return created


def _uuid_text(value: Any) -> str:
    """listCollections' uuid (a UUID, or BSON binary subtype 4 without uuidRepresentation) as the metadata writes it."""
    if isinstance(value, Binary):
        value = UUID(bytes=bytes(value))
    return str(value) if value is not None else ""


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _literal(text: str) -> str:
    return text.replace("'", "''")


def setup(db: Database[Any], postgresql_url: str) -> FerretIndexes | None:
    """The index keeper when `db` is FerretDB; None against MongoDB (or FerretDB without its PostgreSQL URL)."""
    if not is_ferretdb(db):
        return None
    if not postgresql_url:
        log.warning("FerretDB without DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL: its queries scan whole collections")
        return None
    keeper = FerretIndexes(db, postgresql_url)
    try:
        keeper.ensure()
    except Exception as exc:  # noqa: BLE001 - a missing index costs speed, never the start-up
        log.warning("FerretDB's GIN indexes not made (retried later): %s", exc)
    return keeper
