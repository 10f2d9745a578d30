import datetime

from drift_monitoring.v1 import drift_pb2 as _drift_pb2
from drift_monitoring.v1 import experiment_pb2 as _experiment_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportedUser(_message.Message):
    __slots__ = ("issuer", "subject", "name", "email", "create_time")
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    issuer: str
    subject: str
    name: str
    email: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, issuer: _Optional[str] = ..., subject: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ImportUsersRequest(_message.Message):
    __slots__ = ("users", "validate_only")
    USERS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[ImportedUser]
    validate_only: bool
    def __init__(self, users: _Optional[_Iterable[_Union[ImportedUser, _Mapping]]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ImportUsersResponse(_message.Message):
    __slots__ = ("created_count", "existing_count", "user_ids")
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_COUNT_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    created_count: int
    existing_count: int
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, created_count: _Optional[int] = ..., existing_count: _Optional[int] = ..., user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportExperimentRequest(_message.Message):
    __slots__ = ("legacy_id", "experiment", "owner", "create_time", "validate_only")
    LEGACY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    legacy_id: str
    experiment: _experiment_pb2.Experiment
    owner: str
    create_time: _timestamp_pb2.Timestamp
    validate_only: bool
    def __init__(self, legacy_id: _Optional[str] = ..., experiment: _Optional[_Union[_experiment_pb2.Experiment, _Mapping]] = ..., owner: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ImportExperimentResponse(_message.Message):
    __slots__ = ("experiment", "created")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    experiment: _experiment_pb2.Experiment
    created: bool
    def __init__(self, experiment: _Optional[_Union[_experiment_pb2.Experiment, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ImportedDrift(_message.Message):
    __slots__ = ("legacy_id", "drift", "creator", "create_time")
    LEGACY_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    legacy_id: str
    drift: _drift_pb2.Drift
    creator: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, legacy_id: _Optional[str] = ..., drift: _Optional[_Union[_drift_pb2.Drift, _Mapping]] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ImportDriftsRequest(_message.Message):
    __slots__ = ("experiment_id", "drifts", "validate_only")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    drifts: _containers.RepeatedCompositeFieldContainer[ImportedDrift]
    validate_only: bool
    def __init__(self, experiment_id: _Optional[str] = ..., drifts: _Optional[_Iterable[_Union[ImportedDrift, _Mapping]]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ImportDriftsResponse(_message.Message):
    __slots__ = ("created_count", "existing_count", "drift_ids")
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_COUNT_FIELD_NUMBER: _ClassVar[int]
    DRIFT_IDS_FIELD_NUMBER: _ClassVar[int]
    created_count: int
    existing_count: int
    drift_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, created_count: _Optional[int] = ..., existing_count: _Optional[int] = ..., drift_ids: _Optional[_Iterable[str]] = ...) -> None: ...
