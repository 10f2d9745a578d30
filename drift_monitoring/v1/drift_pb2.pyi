import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_CSV: _ClassVar[ExportFormat]
    EXPORT_FORMAT_JSON_LINES: _ClassVar[ExportFormat]
    EXPORT_FORMAT_PARQUET: _ClassVar[ExportFormat]

class DriftStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DRIFT_STATUS_UNSPECIFIED: _ClassVar[DriftStatus]
    DRIFT_STATUS_RUNNING: _ClassVar[DriftStatus]
    DRIFT_STATUS_COMPLETED: _ClassVar[DriftStatus]
    DRIFT_STATUS_FAILED: _ClassVar[DriftStatus]
    DRIFT_STATUS_LOST: _ClassVar[DriftStatus]

class DriftEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DRIFT_EVENT_TYPE_UNSPECIFIED: _ClassVar[DriftEventType]
    DRIFT_EVENT_TYPE_CREATED: _ClassVar[DriftEventType]
    DRIFT_EVENT_TYPE_UPDATED: _ClassVar[DriftEventType]
    DRIFT_EVENT_TYPE_DELETED: _ClassVar[DriftEventType]
    DRIFT_EVENT_TYPE_HEARTBEAT: _ClassVar[DriftEventType]
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_CSV: ExportFormat
EXPORT_FORMAT_JSON_LINES: ExportFormat
EXPORT_FORMAT_PARQUET: ExportFormat
DRIFT_STATUS_UNSPECIFIED: DriftStatus
DRIFT_STATUS_RUNNING: DriftStatus
DRIFT_STATUS_COMPLETED: DriftStatus
DRIFT_STATUS_FAILED: DriftStatus
DRIFT_STATUS_LOST: DriftStatus
DRIFT_EVENT_TYPE_UNSPECIFIED: DriftEventType
DRIFT_EVENT_TYPE_CREATED: DriftEventType
DRIFT_EVENT_TYPE_UPDATED: DriftEventType
DRIFT_EVENT_TYPE_DELETED: DriftEventType
DRIFT_EVENT_TYPE_HEARTBEAT: DriftEventType

class ExportDriftsRequest(_message.Message):
    __slots__ = ("experiment_id", "filter", "format", "csv_row_per_feature", "progress")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CSV_ROW_PER_FEATURE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    filter: str
    format: ExportFormat
    csv_row_per_feature: bool
    progress: bool
    def __init__(self, experiment_id: _Optional[str] = ..., filter: _Optional[str] = ..., format: _Optional[_Union[ExportFormat, str]] = ..., csv_row_per_feature: _Optional[bool] = ..., progress: _Optional[bool] = ...) -> None: ...

class ExportProgress(_message.Message):
    __slots__ = ("runs_exported", "fraction_done")
    RUNS_EXPORTED_FIELD_NUMBER: _ClassVar[int]
    FRACTION_DONE_FIELD_NUMBER: _ClassVar[int]
    runs_exported: int
    fraction_done: float
    def __init__(self, runs_exported: _Optional[int] = ..., fraction_done: _Optional[float] = ...) -> None: ...

class FeatureResult(_message.Message):
    __slots__ = ("feature", "test", "statistic", "p_value", "threshold", "detected")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DETECTED_FIELD_NUMBER: _ClassVar[int]
    feature: str
    test: str
    statistic: float
    p_value: float
    threshold: float
    detected: bool
    def __init__(self, feature: _Optional[str] = ..., test: _Optional[str] = ..., statistic: _Optional[float] = ..., p_value: _Optional[float] = ..., threshold: _Optional[float] = ..., detected: _Optional[bool] = ...) -> None: ...

class DriftResult(_message.Message):
    __slots__ = ("detected", "parameters", "features")
    DETECTED_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    detected: bool
    parameters: _struct_pb2.Struct
    features: _containers.RepeatedCompositeFieldContainer[FeatureResult]
    def __init__(self, detected: _Optional[bool] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., features: _Optional[_Iterable[_Union[FeatureResult, _Mapping]]] = ...) -> None: ...

class Drift(_message.Message):
    __slots__ = ("id", "experiment_id", "model", "status", "tags", "concept_drift", "data_drift", "result", "error_message", "create_time", "start_time", "end_time", "update_time", "creator", "lease_duration", "lease_expire_time", "status_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CONCEPT_DRIFT_FIELD_NUMBER: _ClassVar[int]
    DATA_DRIFT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    LEASE_DURATION_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    experiment_id: str
    model: str
    status: DriftStatus
    tags: _containers.RepeatedScalarFieldContainer[str]
    concept_drift: DriftResult
    data_drift: DriftResult
    result: DriftResult
    error_message: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    creator: str
    lease_duration: _duration_pb2.Duration
    lease_expire_time: _timestamp_pb2.Timestamp
    status_reason: str
    def __init__(self, id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., model: _Optional[str] = ..., status: _Optional[_Union[DriftStatus, str]] = ..., tags: _Optional[_Iterable[str]] = ..., concept_drift: _Optional[_Union[DriftResult, _Mapping]] = ..., data_drift: _Optional[_Union[DriftResult, _Mapping]] = ..., result: _Optional[_Union[DriftResult, _Mapping]] = ..., error_message: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., lease_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_reason: _Optional[str] = ...) -> None: ...

class CreateDriftRequest(_message.Message):
    __slots__ = ("experiment_id", "drift", "request_id")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    drift: Drift
    request_id: str
    def __init__(self, experiment_id: _Optional[str] = ..., drift: _Optional[_Union[Drift, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchCreateDriftsRequest(_message.Message):
    __slots__ = ("experiment_id", "requests")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    requests: _containers.RepeatedCompositeFieldContainer[CreateDriftRequest]
    def __init__(self, experiment_id: _Optional[str] = ..., requests: _Optional[_Iterable[_Union[CreateDriftRequest, _Mapping]]] = ...) -> None: ...

class BatchCreateDriftsResponse(_message.Message):
    __slots__ = ("drifts",)
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    drifts: _containers.RepeatedCompositeFieldContainer[Drift]
    def __init__(self, drifts: _Optional[_Iterable[_Union[Drift, _Mapping]]] = ...) -> None: ...

class GetDriftRequest(_message.Message):
    __slots__ = ("experiment_id", "drift_id")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFT_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    drift_id: str
    def __init__(self, experiment_id: _Optional[str] = ..., drift_id: _Optional[str] = ...) -> None: ...

class ListDriftsRequest(_message.Message):
    __slots__ = ("experiment_id", "page_size", "page_token", "filter", "order_by")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, experiment_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListDriftsResponse(_message.Message):
    __slots__ = ("drifts", "next_page_token")
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    drifts: _containers.RepeatedCompositeFieldContainer[Drift]
    next_page_token: str
    def __init__(self, drifts: _Optional[_Iterable[_Union[Drift, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDriftRequest(_message.Message):
    __slots__ = ("drift", "update_mask")
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    drift: Drift
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, drift: _Optional[_Union[Drift, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class RenewDriftLeaseRequest(_message.Message):
    __slots__ = ("experiment_id", "drift_id", "lease_duration")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFT_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_DURATION_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    drift_id: str
    lease_duration: _duration_pb2.Duration
    def __init__(self, experiment_id: _Optional[str] = ..., drift_id: _Optional[str] = ..., lease_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RenewDriftLeaseResponse(_message.Message):
    __slots__ = ("status", "lease_expire_time")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    status: DriftStatus
    lease_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[DriftStatus, str]] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeleteDriftRequest(_message.Message):
    __slots__ = ("experiment_id", "drift_id")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DRIFT_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    drift_id: str
    def __init__(self, experiment_id: _Optional[str] = ..., drift_id: _Optional[str] = ...) -> None: ...

class WatchDriftsRequest(_message.Message):
    __slots__ = ("experiment_id", "resume_token")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    resume_token: str
    def __init__(self, experiment_id: _Optional[str] = ..., resume_token: _Optional[str] = ...) -> None: ...

class WatchDriftsResponse(_message.Message):
    __slots__ = ("type", "drift", "resume_token", "event_time")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    type: DriftEventType
    drift: Drift
    resume_token: str
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[_Union[DriftEventType, str]] = ..., drift: _Optional[_Union[Drift, _Mapping]] = ..., resume_token: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
