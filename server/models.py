"""MongoEngine documents: the one definition of what is stored (fields, types, required, choices, indexes).

Reads and writes are PyMongo dictionaries (the hot path: no object per document), but every write's
document passes conform() first, so nothing reaches the database that these classes do not declare
(bench/schema.py on FerretDB: a raw insert p50 2.3 ms, with conform 2.7 ms, MongoEngine's save() 3.3 ms).
convert.py takes its timestamp lists from here. Indexes are created at start-up (ensure_indexes).

Stay inside what both MongoDB and FerretDB v1 support: no transactions, change streams, TTL or
partial indexes. Every list query sorts on an indexed (experiment, field, _id) prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentListField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
    ValidationError,
)
from mongoengine.errors import FieldDoesNotExist

# Sort keys ListDrifts accepts; each gets an (experiment, key, _id) index in both directions' reach.
DRIFT_ORDER_FIELDS = ("create_time", "update_time", "start_time", "model", "status")
EXPERIMENT_ORDER_FIELDS = ("name", "create_time", "update_time")
USER_ORDER_FIELDS = ("create_time", "name", "email")
DRIFT_STATUSES = ("RUNNING", "COMPLETED", "FAILED", "LOST")  # server/leases.py: the state machine


class User(Document):
    meta = {
        "collection": "users",
        "indexes": [{"fields": [field, "_id"]} for field in USER_ORDER_FIELDS],
        "auto_create_index": False,
    }
    id = StringField(primary_key=True)  # identity.user_id_for(issuer, subject)
    issuer = StringField(required=True)
    subject = StringField(required=True)
    name = StringField(default="")
    email = StringField(default="")
    entitlements = ListField(StringField())
    create_time = DateTimeField(required=True)
    update_time = DateTimeField(required=True)
    terms_accept_time = DateTimeField(required=True)


class Grant(EmbeddedDocument):
    entity = StringField(required=True)
    level = IntField(required=True)  # AccessLevel number: READ=1 < EDIT=2 < MANAGE=3


class Experiment(Document):
    meta = {
        "collection": "experiments",
        "indexes": [
            {"fields": ["name"], "unique": True},
            "public",
            "owner",
            "grants.entity",
            # The retention sweep's "which experiments have a limit" (server/retention.py).
            "retention_days",
            "retention_runs",
            # Every order a list asks for, walked in order (the keyset cursor ends on _id).
            *({"fields": [field, "_id"]} for field in EXPERIMENT_ORDER_FIELDS),
        ],
        "auto_create_index": False,
    }
    name = StringField(required=True)
    description = StringField(default="")
    public = BooleanField(default=False)
    grants = EmbeddedDocumentListField(Grant)
    owner = StringField(required=True)
    create_time = DateTimeField(required=True)
    update_time = DateTimeField(required=True)
    legacy_id = StringField(null=True)  # its id in the system it was imported from (ImportService)
    retention_days = IntField(default=0)  # runs older than this are deleted (server/retention.py); 0 = no limit
    retention_runs = IntField(default=0)  # only the newest this many runs are kept; 0 = no limit


class Drift(Document):
    meta = {
        "collection": "drifts",
        "indexes": [
            # Idempotency: a request_id is stored with every drift (server-made when the client sent none).
            {"fields": ["experiment", "request_id"], "unique": True},
            *({"fields": ["experiment", field, "_id"]} for field in DRIFT_ORDER_FIELDS),
            # The default order, creation order, one bucket at a time (ordinals.py).
            {"fields": ["experiment", "bucket", "ordinal", "_id"]},
            # The lease sweeper's query (server/leases.py): RUNNING drifts whose lease expired.
            {"fields": ["status", "lease_expire_time"]},
        ],
        "auto_create_index": False,
    }
    experiment = ObjectIdField(required=True)
    request_id = StringField(required=True)
    model = StringField(required=True)
    status = StringField(required=True, choices=DRIFT_STATUSES)
    tags = ListField(StringField())
    # {"detected": bool, "parameters": {...}, "features": [{...}]}; plain dicts so filters reach any path.
    concept_drift = DictField(null=True)
    data_drift = DictField(null=True)
    result = DictField(null=True)
    error_message = StringField(default="")
    creator = StringField(required=True)
    create_time = DateTimeField(required=True)
    start_time = DateTimeField(required=True)
    end_time = DateTimeField(null=True)
    update_time = DateTimeField(required=True)
    ordinal = IntField()  # creation order within the experiment (ordinals.py)
    bucket = IntField()  # ordinal // ordinals.BUCKET
    lease_duration_ms = IntField(null=True)  # absent: the run has no lease and is never LOST
    lease_expire_time = DateTimeField(null=True)  # set only while RUNNING with a lease
    status_reason = StringField(default="")  # why the server set the status (LOST)


class Event(Document):
    """The event log behind WatchDrifts: seq is gap-free and strictly increasing (see events.py)."""

    meta = {
        "collection": "events",
        # drift_id: a retried create's "was my CREATED event appended?" (drifts._replayed)
        "indexes": [
            {"fields": ["seq"], "unique": True},
            {"fields": ["experiment", "seq"]},
            {"fields": ["drift_id"]},
            # Reads name their blocks by equality (events.py): the tail, a watcher's catch-up, pruning.
            {"fields": ["block", "seq"]},
            {"fields": ["experiment", "block", "seq"]},
        ],
        "auto_create_index": False,
    }
    seq = IntField(required=True)
    block = IntField()  # seq // events.BLOCK
    experiment = ObjectIdField(null=True)  # None once its experiment is deleted (events.forget)
    type = StringField(required=True)  # CREATED | UPDATED | DELETED | EXPERIMENT_DELETED | EXPERIMENT_ACCESS | FORGOTTEN
    drift_id = ObjectIdField(null=True)  # the drift's _id (None for EXPERIMENT_DELETED)
    drift = DictField()  # snapshot of the drift document right after the change
    time = DateTimeField(required=True)


class AuditEvent(Document):
    """One entry of the audit trail (see audit.py): append-only, never changed through the API."""

    meta = {
        "collection": "audit_events",
        "indexes": [{"fields": ["experiment", "time", "_id"]}, {"fields": ["time", "_id"]}],
        "auto_create_index": False,
    }
    time = DateTimeField(required=True)
    actor_id = StringField(required=True)
    actor_name = StringField(default="")
    action = StringField(required=True)  # e.g. experiment.sharing, drift.delete, import.experiment
    experiment = ObjectIdField(null=True)
    experiment_name = StringField(default="")
    target = StringField(default="")  # what inside the experiment, e.g. a drift id
    before = DictField(null=True)
    after = DictField(null=True)
    admin_override = BooleanField(default=False)
    experiment_deleted = BooleanField(default=False)  # set when the experiment is deleted (the entry stays)


class LeaseClaim(Document):
    """Who moves a drift to LOST: the one process whose insert of `<drift id>@<lease expiry>` succeeded
    (server/leases.py); the unique _id is the whole protocol. The retention sweep claims the runs it deletes
    the same way (`expire/<drift id>@<ordinal>`, server/retention.py). `time` is indexed for the sweeper's
    pruning of old claims (a delete by time range)."""

    meta = {"collection": "lease_claims", "indexes": [{"fields": ["time"]}], "auto_create_index": False}
    id = StringField(primary_key=True)
    time = DateTimeField(required=True)


class AlertRule(Document):
    """An experiment's alert rule (server/alerts/). `secrets` are the webhook's signing secrets, newest
    first, each with the time it stops signing (None: current); never returned by Get or List."""

    # disabled: the evaluator's safety pass (every enabled rule); timed: its frequent pass (time-based conditions).
    meta = {"collection": "alert_rules", "indexes": [{"fields": ["experiment", "create_time", "_id"]}, {"fields": ["disabled"]}, {"fields": ["timed"]}],
            "auto_create_index": False}
    experiment = ObjectIdField(required=True)
    display_name = StringField(required=True)
    disabled = BooleanField(default=False)
    condition = DictField(required=True)  # {"type": "drift_detected", ...the condition's fields}
    timed = BooleanField(default=False)  # the condition changes with time alone (drift_rate, no_run)
    filter = StringField(default="")
    pending_ms = IntField(default=0)
    repeat_ms = IntField(required=True)
    group_by = ListField(StringField())
    channel = DictField(required=True)  # {"type": "webhook"|"slack"|"email", "url"| "to"}
    secrets = ListField(DictField())  # [{"secret": "whsec_...", "expire_time": datetime | None}]
    creator = StringField(required=True)
    create_time = DateTimeField(required=True)
    update_time = DateTimeField(required=True)


class AlertGroupState(Document):
    """Where one alert (a rule and one group of its runs) stands: _id "<rule>|<group key>". `episode`
    counts the times it became active; notifications of an episode have ids derived from it."""

    # state: the firing-alerts gauge counts FIRING ones.
    meta = {"collection": "alert_states", "indexes": [{"fields": ["rule"]}, {"fields": ["experiment"]}, {"fields": ["state"]}], "auto_create_index": False}
    id = StringField(primary_key=True)
    rule = ObjectIdField(required=True)
    experiment = ObjectIdField(required=True)
    labels = DictField()
    state = StringField(required=True, choices=("INACTIVE", "PENDING", "FIRING"))
    episode = IntField(required=True)
    active_since = DateTimeField(null=True)
    fire_time = DateTimeField(null=True)
    repeats = IntField(default=0)  # REPEAT notifications made in this episode
    update_time = DateTimeField(required=True)


class AlertNotification(Document):
    """A firing, repeat or resolution and its delivery: the outbox. _id is the delivery id, derived from
    (rule, group, episode, kind), so the insert is the claim of that transition: whichever process inserts
    it first made it, and a repeated insert changes nothing (server/alerts/evaluator.py)."""

    meta = {
        "collection": "alert_notifications",
        "indexes": [
            {"fields": ["status", "next_attempt_time"]},
            {"fields": ["experiment", "create_time", "_id"]},
            {"fields": ["rule", "create_time", "_id"]},
        ],
        "auto_create_index": False,
    }
    id = StringField(primary_key=True)
    rule = ObjectIdField(required=True)
    experiment = ObjectIdField(required=True)
    kind = StringField(required=True, choices=("FIRING", "REPEAT", "RESOLVED"))
    labels = DictField()
    summary = StringField(default="")
    payload = DictField(required=True)
    status = StringField(required=True, choices=("PENDING", "DELIVERED", "FAILED"))
    attempt = IntField(default=0)  # the attempt a sender may claim next (server/alerts/outbox.py)
    attempts = ListField(DictField())  # [{"time", "status_code", "detail"}]
    next_attempt_time = DateTimeField(required=True)
    give_up_time = DateTimeField(required=True)
    create_time = DateTimeField(required=True)
    deliver_time = DateTimeField(null=True)


class AlertClaim(Document):
    """Who sends attempt N of a notification: the process whose insert of "<id>#<N>" succeeded (FerretDB
    v1's conditional updates are not atomic: see server/leases.py)."""

    meta = {"collection": "alert_claims", "indexes": [{"fields": ["time"]}, {"fields": ["experiment"]}], "auto_create_index": False}
    id = StringField(primary_key=True)
    experiment = ObjectIdField(required=True)
    owner = StringField(required=True)
    time = DateTimeField(required=True)


ALERT_DOCUMENTS = (AlertRule, AlertGroupState, AlertNotification, AlertClaim)
# Per-experiment collections an experiment's delete removes (server/services/experiments.py).
EXPERIMENT_DEPENDENTS = ALERT_DOCUMENTS
ALL_DOCUMENTS = (User, Experiment, Drift, Event, AuditEvent, LeaseClaim, *ALERT_DOCUMENTS)


class StoredShapeError(RuntimeError):
    """A write whose document the schema does not declare: a server bug, refused before it is stored."""


def conform(document: type[Document], stored: Mapping[str, Any], *, partial: bool = False) -> None:
    """Raise StoredShapeError unless `stored` (a whole document, or with partial=True the fields of a $set)
    is what `document` declares: no unknown field, every value of its field's type, required ones present."""
    try:
        if not partial:
            document._from_son(dict(stored)).validate()
            return
        names = {field.db_field: name for name, field in document._fields.items()}
        for key, value in stored.items():
            if key not in names:
                raise FieldDoesNotExist(f'The field "{key}" does not exist on the document "{document.__name__}"')
            field = document._fields[names[key]]
            if value is None:
                if field.required:
                    raise ValidationError(f"{key}: is required")
                continue
            field._validate(field.to_python(value))  # _validate: the type and the choices, as validate() of a whole document does
    except (ValidationError, FieldDoesNotExist) as error:
        raise StoredShapeError(f"{document.__name__} would be stored in a shape it does not declare: {error}") from error


def time_fields(document: type[Document]) -> tuple[str, ...]:
    """The stored names of a document's timestamps, in declaration order (convert.py's list)."""
    return tuple(field.db_field for field in document._fields.values() if isinstance(field, DateTimeField))


def ensure_indexes() -> None:
    for document in ALL_DOCUMENTS:
        document.ensure_indexes()
