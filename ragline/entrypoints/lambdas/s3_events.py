"""S3 object events as they reach a queue: through EventBridge, or as S3 event notifications.

S3 event notifications carry URL-encoded keys (a space is `+`), so keys are decoded here, once,
with `unquote_plus`; everything downstream sees the real key. EventBridge events are treated
the same way, but as emulators disagree on whether their keys are encoded, the raw key is
kept too (`candidate_keys`): a handler that finds no object under the decoded key tries the
raw one, so a file named `c++ notes.pdf` is never skipped for a decoding convention. S3's
`s3:TestEvent` (sent when a notification is configured) carries no object and yields no event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import BaseModel, Field

from ragline.adapters.aws.textract import s3_source
from ragline.entrypoints.lambdas import runtime
from ragline.entrypoints.lambdas.runtime import MalformedMessageError

EVENTBRIDGE_CHANGES = {"Object Created": "created", "Object Deleted": "removed"}
NOTIFICATION_CHANGES = {"ObjectCreated": "created", "ObjectRemoved": "removed", "LifecycleExpiration": "removed"}


log = logging.getLogger(__name__)


class Change(StrEnum):
    CREATED = "created"
    REMOVED = "removed"
    OTHER = "other"  # restored, tagged, ...: nothing for ragline to do


@dataclass(frozen=True)
class ObjectEvent:
    bucket: str
    key: str  # decoded
    change: Change
    version: str | None = None
    sequencer: str | None = None
    raw_key: str | None = None  # as it came, when it differs from the decoded key

    @property
    def source(self) -> str:
        return s3_source(self.bucket, self.key)

    @property
    def candidate_keys(self) -> tuple[str, ...]:
        return (self.key, self.raw_key) if self.raw_key else (self.key,)

    def with_key(self, key: str) -> ObjectEvent:
        return replace(self, key=key, raw_key=None)


class _NotifiedObject(BaseModel):
    key: str
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None


class _NotifiedBucket(BaseModel):
    name: str


class _NotifiedEntity(BaseModel):
    bucket: _NotifiedBucket
    object: _NotifiedObject


class _NotificationRecord(BaseModel):
    event_name: str = Field(alias="eventName")
    s3: _NotifiedEntity


class _Notification(BaseModel):
    """The fields of an S3 event notification that ragline reads.

    Powertools' `S3Model` also requires userIdentity, requestParameters, responseElements and
    the bucket's ownerIdentity, which ragline never reads and which S3-compatible emitters
    (moto among them) leave out; requiring them would refuse good events.
    """

    Records: list[_NotificationRecord]


def object_events(body: str) -> list[ObjectEvent]:
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedMessageError(f"the message body is not JSON: {error}") from error
    return _events(payload)


def _events(payload: Any) -> list[ObjectEvent]:
    if not isinstance(payload, dict):
        raise MalformedMessageError("the message body is not a JSON object")
    if payload.get("Event") == "s3:TestEvent":
        return []
    if payload.get("Type") == "Notification" and "Message" in payload:  # S3 -> SNS -> SQS
        return object_events(payload["Message"])
    if "detail-type" in payload:
        return [_from_eventbridge(S3EventNotificationEventBridgeModel.model_validate(payload))]
    if "Records" in payload:
        return [_from_notification(record) for record in _Notification.model_validate(payload).Records]
    raise MalformedMessageError(f"not an S3 event: its keys are {sorted(payload)}")


def _from_eventbridge(event: S3EventNotificationEventBridgeModel) -> ObjectEvent:
    detail = event.detail
    return ObjectEvent(
        bucket=detail.bucket.name,
        key=unquote_plus(detail.object.key),
        raw_key=detail.object.key if unquote_plus(detail.object.key) != detail.object.key else None,
        change=Change(EVENTBRIDGE_CHANGES.get(event.detail_type, "other")),
        version=_version(detail.object.version_id),
        sequencer=detail.object.sequencer,
    )


def _from_notification(record: _NotificationRecord) -> ObjectEvent:
    return ObjectEvent(
        bucket=record.s3.bucket.name,
        key=unquote_plus(record.s3.object.key),
        change=Change(NOTIFICATION_CHANGES.get(record.event_name.split(":", 1)[0], "other")),
        version=_version(record.s3.object.version_id),
        sequencer=record.s3.object.sequencer,
    )


def _version(version_id: str | None) -> str | None:
    return None if version_id in (None, "", "null") else version_id  # "null": an unversioned bucket


def handle_object_record(
    record: Any, *, wanted: Change, act: Callable[[ObjectEvent], None], handler: str, record_failure: bool
) -> None:
    """Apply `act` to each object event of one SQS record whose change is `wanted`.

    A failure goes to `runtime.dead_letter_or_raise`; with `record_failure`, the registry also
    records it against the object's source (not for deletions: the source is gone).
    """
    source = None
    try:
        for event in object_events(record.body):
            source = event.source
            if event.change is wanted:
                act(event)
            else:
                log.info("%s: %s is not an object %s: ignored", handler, source, wanted.value)
    except Exception as error:
        runtime.dead_letter_or_raise(record, error, handler=handler, source=source if record_failure else None)
