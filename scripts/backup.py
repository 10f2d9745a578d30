"""Back up and restore the Drift Monitoring database (MongoDB or FerretDB) without mongodump.

    python scripts/backup.py dump --dir /backups [--keep 14]          one backup, then drop the oldest beyond --keep
    python scripts/backup.py schedule --dir /backups --every 86400    dump now and then every N seconds (the compose service)
    python scripts/backup.py restore FILE [--drop]                   load a backup into MONGODB_URI's database
    python scripts/backup.py verify FILE                             read a backup to its end, checking the counts
    python scripts/backup.py check --dir /backups --max-age 90000    exit 1 unless a backup younger than that exists

The database is MONGODB_URI's (or --uri). A backup is one gzip file, `<database>-<UTC time>.dmbak.gz`,
written under a temporary name and renamed, so a half-written file never looks like a backup. Inside:
framed records, each one kind byte and one BSON document, documents exactly as the server sent them
(raw BSON, never decoded, so restore writes back the same bytes):

    H {format, version, database, created}
    C {name, indexes}           then one D per document of that collection, in _id order
    D <document>
    E {collections, documents}  the trailer: a file without it is truncated and refused

Each collection is read on its own, not at one instant (FerretDB v1 has no snapshots): writes that run
during a dump may be in one collection and not in another. The server tolerates that (the event log
is only a feed), and dumps run when writes are few; stop the backend for a point-in-time copy.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import bson
import pymongo
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

log = logging.getLogger("backup")

FORMAT, VERSION = "drift-monitoring-backup", 1
SUFFIX = ".dmbak.gz"
BATCH = 1000
RAW = CodecOptions(document_class=RawBSONDocument)
# Index options that only describe the server's copy, not the index to build.
INDEX_NOISE = {"v", "ns"}


class BackupError(Exception):
    """A backup cannot be written, read or restored; the message says why."""


# -- the file format --------------------------------------------------------------------------------


def _write(out: IO[bytes], kind: bytes, document: bytes) -> None:
    out.write(kind)
    out.write(document)


def _records(source: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    while kind := source.read(1):
        size = source.read(4)
        if len(size) < 4:
            raise BackupError("the backup is truncated")
        length = int.from_bytes(size, "little")
        body = source.read(length - 4)
        if len(body) != length - 4:
            raise BackupError("the backup is truncated")
        yield kind, size + body


def _database(client: pymongo.MongoClient, name: str | None) -> pymongo.database.Database:
    if name:
        return client[name]
    try:
        return client.get_default_database()
    except pymongo.errors.ConfigurationError:
        raise BackupError("name the database in MONGODB_URI (mongodb://host/NAME) or with --database") from None


def dump(db: pymongo.database.Database, out: IO[bytes]) -> tuple[int, int]:
    """Write every collection of db with its indexes; returns (collections, documents)."""
    header = {"format": FORMAT, "version": VERSION, "database": db.name, "created": datetime.now(UTC)}
    _write(out, b"H", bson.encode(header))
    names = sorted(n for n in db.list_collection_names() if not n.startswith("system."))
    documents = 0
    for name in names:
        collection = db.get_collection(name, codec_options=RAW)
        indexes = [{k: v for k, v in index.items() if k not in INDEX_NOISE} for index in db[name].list_indexes()]
        _write(out, b"C", bson.encode({"name": name, "indexes": indexes}))
        for document in collection.find({}, sort=[("_id", pymongo.ASCENDING)], batch_size=BATCH):
            _write(out, b"D", document.raw)
            documents += 1
    _write(out, b"E", bson.encode({"collections": len(names), "documents": documents}))
    return len(names), documents


def read(source: IO[bytes]) -> Iterator[tuple[str, dict[str, Any] | bytes]]:
    """('header', doc), ('collection', doc), ('document', raw bytes)..., checked against the trailer."""
    records = _records(source)
    kind, body = next(records, (b"", b""))
    header = bson.decode(body) if kind == b"H" else {}
    if header.get("format") != FORMAT:
        raise BackupError("not a Drift Monitoring backup")
    if header.get("version") != VERSION:
        raise BackupError(f"backup format version {header.get('version')} is not {VERSION}")
    yield "header", header
    collections = documents = 0
    for kind, body in records:
        if kind == b"C":
            collections += 1
            yield "collection", bson.decode(body)
        elif kind == b"D":
            if not collections:
                raise BackupError("a document before any collection: the backup is damaged")
            documents += 1
            yield "document", body
        elif kind == b"E":
            trailer = bson.decode(body)
            if (trailer["collections"], trailer["documents"]) != (collections, documents):
                raise BackupError(f"the backup holds {collections} collections and {documents} documents, its trailer says {trailer}")
            if source.read(1):
                raise BackupError("data after the trailer: the backup is damaged")
            return
        else:
            raise BackupError(f"unknown record kind {kind!r}: the backup is damaged")
    raise BackupError("the backup is truncated (no trailer)")


def restore(db: pymongo.database.Database, source: IO[bytes], drop: bool = False) -> tuple[int, int]:
    """Load a backup into db. Refuses collections that already hold documents unless drop."""
    entries = read(source)
    next(entries)  # the header; read() checked it
    collections = documents = 0
    current: dict[str, Any] | None = None
    pending: list[RawBSONDocument] = []

    def flush() -> None:
        if pending:
            db.get_collection(current["name"], codec_options=RAW).insert_many(pending, ordered=True)  # type: ignore[index]
            pending.clear()

    def finish() -> None:
        flush()
        indexes = [index for index in current["indexes"] if index["name"] != "_id_"]  # type: ignore[index]
        if indexes:
            db.command({"createIndexes": current["name"], "indexes": indexes})  # type: ignore[index]

    for kind, value in entries:
        if kind == "collection":
            if current is not None:
                finish()
            current = value  # type: ignore[assignment]
            name = current["name"]  # type: ignore[index]
            if db[name].find_one({}, {"_id": 1}) is not None:
                if not drop:
                    raise BackupError(f"collection {name} of database {db.name} is not empty; restore with --drop to replace it")
                db.drop_collection(name)
            collections += 1
        else:
            pending.append(RawBSONDocument(value))  # type: ignore[arg-type]
            documents += 1
            if len(pending) >= BATCH:
                flush()
    if current is not None:
        finish()
    return collections, documents


# -- files, rotation, schedule ----------------------------------------------------------------------


def backups(directory: Path, database: str) -> list[Path]:
    """This database's backups in the directory, oldest first (the UTC time in the name sorts)."""
    return sorted(p for p in directory.glob(f"{database}-*{SUFFIX}") if p.is_file())


def dump_to(db: pymongo.database.Database, directory: Path, keep: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    final = directory / f"{db.name}-{stamp}{SUFFIX}"
    partial = directory / f".{final.name}.partial"
    try:
        with partial.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            collections, documents = dump(db, out)
        with partial.open("rb") as raw:
            os.fsync(raw.fileno())
        partial.rename(final)
    finally:
        partial.unlink(missing_ok=True)
    log.info("backup %s: %d collections, %d documents, %d bytes", final, collections, documents, final.stat().st_size)
    for old in backups(directory, db.name)[:-keep] if keep > 0 else []:
        old.unlink()
        log.info("retention: removed %s", old.name)
    return final


def restore_from(db: pymongo.database.Database, path: Path, drop: bool) -> tuple[int, int]:
    with gzip.open(path, "rb") as source:
        return restore(db, source, drop)


def verify(path: Path) -> tuple[int, int]:
    collections = documents = 0
    try:
        with gzip.open(path, "rb") as source:
            for kind, _ in read(source):
                collections += kind == "collection"
                documents += kind == "document"
    except (OSError, EOFError) as exc:  # gzip's own damage reports
        raise BackupError(f"{path}: {exc}") from None
    return collections, documents


def schedule(db: pymongo.database.Database, directory: Path, every: float, keep: int, stop: threading.Event) -> None:
    """Dump now and every `every` seconds until stop is set; a failed dump is logged and retried next time."""
    while not stop.is_set():
        try:
            dump_to(db, directory, keep)
        except (pymongo.errors.PyMongoError, OSError) as exc:
            log.error("backup failed (next try in %.0f s): %s", every, exc)
        stop.wait(every)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/drift_monitoring"), help="default $MONGODB_URI")
    parser.add_argument("--database", default="", help="default: the database named in the URI")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("dump", "schedule"):
        command = commands.add_parser(name)
        command.add_argument("--dir", type=Path, required=True)
        command.add_argument("--keep", type=int, default=14, help="backups of this database to keep (0: all)")
        if name == "schedule":
            command.add_argument("--every", type=float, default=86400, help="seconds between backups")
    restore_cmd = commands.add_parser("restore")
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.add_argument("--drop", action="store_true", help="replace collections that already hold documents")
    commands.add_parser("verify").add_argument("file", type=Path)
    check = commands.add_parser("check")
    check.add_argument("--dir", type=Path, required=True)
    check.add_argument("--max-age", type=float, required=True, help="seconds")
    args = parser.parse_args(argv)

    try:
        if args.command == "verify":
            print("%s: %d collections, %d documents" % (args.file, *verify(args.file)))
            return 0
        if args.command == "check":
            newest = max((p.stat().st_mtime for p in args.dir.glob(f"*{SUFFIX}")), default=0.0)
            age = time.time() - newest
            if age > args.max_age:
                print(f"no backup in {args.dir} younger than {args.max_age:.0f} s", file=sys.stderr)
                return 1
            return 0
        client = pymongo.MongoClient(args.uri, serverSelectionTimeoutMS=10_000)
        db = _database(client, args.database)
        if args.command == "dump":
            print(dump_to(db, args.dir, args.keep))
        elif args.command == "schedule":
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            schedule(db, args.dir, args.every, args.keep, stop)
        else:
            print("restored %d collections, %d documents into %s" % (*restore_from(db, args.file, args.drop), db.name))
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    except pymongo.errors.PyMongoError as exc:
        print(f"backup: database error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
