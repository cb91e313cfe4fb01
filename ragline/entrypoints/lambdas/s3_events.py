"""S3 object events as the stacks deliver them: S3 -> EventBridge rule -> SQS, one event per message.

The ingest bucket sends its events to EventBridge; one rule routes "Object Created" to the
ingest queue, another "Object Deleted" to the delete queue (stacks/components/ingestion.py).
So a message body is exactly one EventBridge event from `aws.s3`, read with Powertools' parser
model; anything else (an S3 event notification, an SNS envelope, another detail type) is a
malformed message, refused with the reason.

Object keys: S3 URL-encodes the keys of its event notifications (a space is `+`), and emulators
disagree on whether EventBridge keys are encoded too. The key is decoded with `unquote_plus`
and the raw key kept (`candidate_keys`): a handler that finds no object under the decoded key
tries the raw one, so a file named `c++ notes.pdf` is never skipped for a decoding convention.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import ValidationError

from ragline.adapters.aws.textract import s3_source
from ragline.entrypoints.lambdas import runtime
from ragline.entrypoints.lambdas.runtime import MalformedMessageError

log = logging.getLogger(__name__)

S3_EVENT_SOURCE = "aws.s3"


class Change(StrEnum):
    CREATED = "Object Created"
    REMOVED = "Object Deleted"


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


def object_event(body: str) -> ObjectEvent:
    """The S3 object event of one SQS message body; MalformedMessageError, with the reason, if it is not one."""
    try:
        event = S3EventNotificationEventBridgeModel.model_validate_json(body)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors()[:3]
        )
        raise MalformedMessageError(f"not an S3 event delivered by EventBridge ({problems})") from error
    if event.source != S3_EVENT_SOURCE or event.detail_type not in set(Change):
        raise MalformedMessageError(
            f"not an S3 object event: source {event.source!r}, detail-type {event.detail_type!r} "
            f"(expected {S3_EVENT_SOURCE!r} with one of {[change.value for change in Change]})"
        )
    detail = event.detail
    key = unquote_plus(detail.object.key)
    return ObjectEvent(
        bucket=detail.bucket.name,
        key=key,
        raw_key=detail.object.key if key != detail.object.key else None,
        change=Change(event.detail_type),
        version=_version(detail.object.version_id),
        sequencer=detail.object.sequencer,
    )


def _version(version_id: str | None) -> str | None:
    return None if version_id in (None, "", "null") else version_id  # "null": an unversioned bucket


def handle_object_record(
    record: Any, *, wanted: Change, act: Callable[[ObjectEvent], None], handler: str, record_failure: bool
) -> None:
    """Apply `act` to the object event of one SQS record, if its change is `wanted`.

    A failure is settled by `runtime.settle_failure`; with `record_failure`, the registry keeps
    it against the object's source (not for deletions: the source is gone).
    """
    source = None
    try:
        event = object_event(record.body)
        source = event.source
        if event.change is wanted:
            act(event)
        else:  # a rule routed the wrong change to this queue: nothing for this handler to do
            log.warning("%s: %s is an %r event, not %r: ignored", handler, source, event.change.value, wanted.value)
    except Exception as error:
        runtime.settle_failure(error, handler=handler, source=source, record=record_failure)
