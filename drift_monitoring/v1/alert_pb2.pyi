import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DriftKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DRIFT_KIND_UNSPECIFIED: _ClassVar[DriftKind]
    DRIFT_KIND_ANY: _ClassVar[DriftKind]
    DRIFT_KIND_CONCEPT: _ClassVar[DriftKind]
    DRIFT_KIND_DATA: _ClassVar[DriftKind]
    DRIFT_KIND_RESULT: _ClassVar[DriftKind]

class AlertState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_STATE_UNSPECIFIED: _ClassVar[AlertState]
    ALERT_STATE_INACTIVE: _ClassVar[AlertState]
    ALERT_STATE_PENDING: _ClassVar[AlertState]
    ALERT_STATE_FIRING: _ClassVar[AlertState]

class AlertDeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_DELIVERY_STATUS_UNSPECIFIED: _ClassVar[AlertDeliveryStatus]
    ALERT_DELIVERY_STATUS_PENDING: _ClassVar[AlertDeliveryStatus]
    ALERT_DELIVERY_STATUS_DELIVERED: _ClassVar[AlertDeliveryStatus]
    ALERT_DELIVERY_STATUS_FAILED: _ClassVar[AlertDeliveryStatus]
DRIFT_KIND_UNSPECIFIED: DriftKind
DRIFT_KIND_ANY: DriftKind
DRIFT_KIND_CONCEPT: DriftKind
DRIFT_KIND_DATA: DriftKind
DRIFT_KIND_RESULT: DriftKind
ALERT_STATE_UNSPECIFIED: AlertState
ALERT_STATE_INACTIVE: AlertState
ALERT_STATE_PENDING: AlertState
ALERT_STATE_FIRING: AlertState
ALERT_DELIVERY_STATUS_UNSPECIFIED: AlertDeliveryStatus
ALERT_DELIVERY_STATUS_PENDING: AlertDeliveryStatus
ALERT_DELIVERY_STATUS_DELIVERED: AlertDeliveryStatus
ALERT_DELIVERY_STATUS_FAILED: AlertDeliveryStatus

class AlertCondition(_message.Message):
    __slots__ = ("drift_detected", "feature_detected", "k_of_n", "drift_rate", "run_failed", "run_lost", "no_run")
    class DriftDetected(_message.Message):
        __slots__ = ("kind",)
        KIND_FIELD_NUMBER: _ClassVar[int]
        kind: DriftKind
        def __init__(self, kind: _Optional[_Union[DriftKind, str]] = ...) -> None: ...
    class FeatureDetected(_message.Message):
        __slots__ = ("features", "kind")
        FEATURES_FIELD_NUMBER: _ClassVar[int]
        KIND_FIELD_NUMBER: _ClassVar[int]
        features: _containers.RepeatedScalarFieldContainer[str]
        kind: DriftKind
        def __init__(self, features: _Optional[_Iterable[str]] = ..., kind: _Optional[_Union[DriftKind, str]] = ...) -> None: ...
    class KOfN(_message.Message):
        __slots__ = ("k", "n", "kind")
        K_FIELD_NUMBER: _ClassVar[int]
        N_FIELD_NUMBER: _ClassVar[int]
        KIND_FIELD_NUMBER: _ClassVar[int]
        k: int
        n: int
        kind: DriftKind
        def __init__(self, k: _Optional[int] = ..., n: _Optional[int] = ..., kind: _Optional[_Union[DriftKind, str]] = ...) -> None: ...
    class DriftRate(_message.Message):
        __slots__ = ("window", "threshold", "min_runs", "kind")
        WINDOW_FIELD_NUMBER: _ClassVar[int]
        THRESHOLD_FIELD_NUMBER: _ClassVar[int]
        MIN_RUNS_FIELD_NUMBER: _ClassVar[int]
        KIND_FIELD_NUMBER: _ClassVar[int]
        window: _duration_pb2.Duration
        threshold: float
        min_runs: int
        kind: DriftKind
        def __init__(self, window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., threshold: _Optional[float] = ..., min_runs: _Optional[int] = ..., kind: _Optional[_Union[DriftKind, str]] = ...) -> None: ...
    class RunFailed(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class RunLost(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class NoRun(_message.Message):
        __slots__ = ("period",)
        PERIOD_FIELD_NUMBER: _ClassVar[int]
        period: _duration_pb2.Duration
        def __init__(self, period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
    DRIFT_DETECTED_FIELD_NUMBER: _ClassVar[int]
    FEATURE_DETECTED_FIELD_NUMBER: _ClassVar[int]
    K_OF_N_FIELD_NUMBER: _ClassVar[int]
    DRIFT_RATE_FIELD_NUMBER: _ClassVar[int]
    RUN_FAILED_FIELD_NUMBER: _ClassVar[int]
    RUN_LOST_FIELD_NUMBER: _ClassVar[int]
    NO_RUN_FIELD_NUMBER: _ClassVar[int]
    drift_detected: AlertCondition.DriftDetected
    feature_detected: AlertCondition.FeatureDetected
    k_of_n: AlertCondition.KOfN
    drift_rate: AlertCondition.DriftRate
    run_failed: AlertCondition.RunFailed
    run_lost: AlertCondition.RunLost
    no_run: AlertCondition.NoRun
    def __init__(self, drift_detected: _Optional[_Union[AlertCondition.DriftDetected, _Mapping]] = ..., feature_detected: _Optional[_Union[AlertCondition.FeatureDetected, _Mapping]] = ..., k_of_n: _Optional[_Union[AlertCondition.KOfN, _Mapping]] = ..., drift_rate: _Optional[_Union[AlertCondition.DriftRate, _Mapping]] = ..., run_failed: _Optional[_Union[AlertCondition.RunFailed, _Mapping]] = ..., run_lost: _Optional[_Union[AlertCondition.RunLost, _Mapping]] = ..., no_run: _Optional[_Union[AlertCondition.NoRun, _Mapping]] = ...) -> None: ...

class WebhookChannel(_message.Message):
    __slots__ = ("url", "secret")
    URL_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    url: str
    secret: str
    def __init__(self, url: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class SlackChannel(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class EmailChannel(_message.Message):
    __slots__ = ("to",)
    TO_FIELD_NUMBER: _ClassVar[int]
    to: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, to: _Optional[_Iterable[str]] = ...) -> None: ...

class AlertChannel(_message.Message):
    __slots__ = ("webhook", "slack", "email")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    SLACK_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    webhook: WebhookChannel
    slack: SlackChannel
    email: EmailChannel
    def __init__(self, webhook: _Optional[_Union[WebhookChannel, _Mapping]] = ..., slack: _Optional[_Union[SlackChannel, _Mapping]] = ..., email: _Optional[_Union[EmailChannel, _Mapping]] = ...) -> None: ...

class AlertRule(_message.Message):
    __slots__ = ("id", "experiment_id", "display_name", "disabled", "condition", "filter", "pending_duration", "repeat_interval", "group_by", "channel", "create_time", "update_time", "state")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PENDING_DURATION_FIELD_NUMBER: _ClassVar[int]
    REPEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    experiment_id: str
    display_name: str
    disabled: bool
    condition: AlertCondition
    filter: str
    pending_duration: _duration_pb2.Duration
    repeat_interval: _duration_pb2.Duration
    group_by: _containers.RepeatedScalarFieldContainer[str]
    channel: AlertChannel
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    state: AlertState
    def __init__(self, id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., display_name: _Optional[str] = ..., disabled: _Optional[bool] = ..., condition: _Optional[_Union[AlertCondition, _Mapping]] = ..., filter: _Optional[str] = ..., pending_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., repeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., group_by: _Optional[_Iterable[str]] = ..., channel: _Optional[_Union[AlertChannel, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[AlertState, str]] = ...) -> None: ...

class CreateAlertRuleRequest(_message.Message):
    __slots__ = ("experiment_id", "rule")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    rule: AlertRule
    def __init__(self, experiment_id: _Optional[str] = ..., rule: _Optional[_Union[AlertRule, _Mapping]] = ...) -> None: ...

class GetAlertRuleRequest(_message.Message):
    __slots__ = ("experiment_id", "rule_id")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    rule_id: str
    def __init__(self, experiment_id: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

class ListAlertRulesRequest(_message.Message):
    __slots__ = ("experiment_id", "page_size", "page_token")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    page_size: int
    page_token: str
    def __init__(self, experiment_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertRulesResponse(_message.Message):
    __slots__ = ("rules", "next_page_token")
    RULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[AlertRule]
    next_page_token: str
    def __init__(self, rules: _Optional[_Iterable[_Union[AlertRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAlertRuleRequest(_message.Message):
    __slots__ = ("rule", "update_mask")
    RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    rule: AlertRule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, rule: _Optional[_Union[AlertRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteAlertRuleRequest(_message.Message):
    __slots__ = ("experiment_id", "rule_id")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    rule_id: str
    def __init__(self, experiment_id: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

class TestAlertRuleRequest(_message.Message):
    __slots__ = ("experiment_id", "rule_id")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    rule_id: str
    def __init__(self, experiment_id: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

class TestAlertRuleResponse(_message.Message):
    __slots__ = ("delivered", "status_code", "detail", "delivery_id")
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    delivered: bool
    status_code: int
    detail: str
    delivery_id: str
    def __init__(self, delivered: _Optional[bool] = ..., status_code: _Optional[int] = ..., detail: _Optional[str] = ..., delivery_id: _Optional[str] = ...) -> None: ...

class RotateAlertRuleSecretRequest(_message.Message):
    __slots__ = ("experiment_id", "rule_id", "overlap")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    rule_id: str
    overlap: _duration_pb2.Duration
    def __init__(self, experiment_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., overlap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RotateAlertRuleSecretResponse(_message.Message):
    __slots__ = ("secret", "previous_secret_expire_time")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SECRET_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    secret: str
    previous_secret_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, secret: _Optional[str] = ..., previous_secret_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AlertDeliveryAttempt(_message.Message):
    __slots__ = ("time", "status_code", "detail")
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    status_code: int
    detail: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_code: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class AlertFiring(_message.Message):
    __slots__ = ("id", "rule_id", "experiment_id", "kind", "labels", "summary", "create_time", "delivery_status", "attempts", "deliver_time")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    rule_id: str
    experiment_id: str
    kind: str
    labels: _containers.ScalarMap[str, str]
    summary: str
    create_time: _timestamp_pb2.Timestamp
    delivery_status: AlertDeliveryStatus
    attempts: _containers.RepeatedCompositeFieldContainer[AlertDeliveryAttempt]
    deliver_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., rule_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., kind: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., summary: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivery_status: _Optional[_Union[AlertDeliveryStatus, str]] = ..., attempts: _Optional[_Iterable[_Union[AlertDeliveryAttempt, _Mapping]]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAlertFiringsRequest(_message.Message):
    __slots__ = ("experiment_id", "rule_id", "page_size", "page_token")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    rule_id: str
    page_size: int
    page_token: str
    def __init__(self, experiment_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertFiringsResponse(_message.Message):
    __slots__ = ("firings", "next_page_token")
    FIRINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    firings: _containers.RepeatedCompositeFieldContainer[AlertFiring]
    next_page_token: str
    def __init__(self, firings: _Optional[_Iterable[_Union[AlertFiring, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
