"""The synthesized EventBridge rules, matched against S3 events as S3 sends them (issue 16, item 3).

Existence is not enough: a rule that lost its bucket filter or its `.pdf` suffix still exists.
Each rule's EventPattern is taken from the default template and matched with moto's
implementation of EventBridge's pattern semantics (the `aws-test` extra), against samples shaped
as in the S3 user guide ("Amazon S3 event notifications with EventBridge", Object Created /
Object Deleted). The queues behind them are checked against what docs/RUNTIME.md and
docs/SCALE.md promise: three receives before the DLQ, visibility six times the consumer's
timeout, four days' retention, the consumers' timeouts and batch sizes.
"""

from __future__ import annotations

import copy
import json

import pytest

events_models = pytest.importorskip(
    "moto.events.models", reason="moto (the aws-test extra, installed by `make test`) is the EventBridge matcher"
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
INGEST_BUCKET = "ragline-ingest-bucket"
OTHER_BUCKET = "ragline-archive-bucket"

# Shaped as the S3 user guide's samples of the events S3 sends to EventBridge.
_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": ACCOUNT,
    "time": "2026-11-30T00:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:s3:::BUCKET"],
    "detail": {
        "version": "0",
        "bucket": {"name": "BUCKET"},
        "object": {
            "key": "KEY",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BhZA2Ecvbd7oMnMM0TXzRBlNE",
            "sequencer": "617f08299329d189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": ACCOUNT,
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}
_DELETED = {
    **_CREATED,
    "id": "2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
    "detail-type": "Object Deleted",
    "detail": {
        "version": "0",
        "bucket": {"name": "BUCKET"},
        "object": {"key": "KEY", "sequencer": "617f0837b476e463"},
        "request-id": "0BH729840619AG5K",
        "requester": ACCOUNT,
        "source-ip-address": "1.2.3.4",
        "reason": "DeleteObject",
        "deletion-type": "Permanently Deleted",
    },
}


def s3_event(detail_type: str, bucket: str, key: str, reason: str | None = None) -> dict:
    event = copy.deepcopy(_CREATED if detail_type == "Object Created" else _DELETED)
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    if reason:
        event["detail"]["reason"] = reason
    return event


# --- the template, with the ingest bucket's name put where CloudFormation would put it --------------


def _bucket_names(synthesized) -> dict[str, str]:
    """Logical id of every bucket in the app -> the name the samples use for it."""
    data = synthesized.template("data")
    ingest = data["Outputs"]["IngestBucketName"]["Value"]["Ref"]
    return {
        logical_id: INGEST_BUCKET if logical_id == ingest else f"bucket-{logical_id.lower()}"
        for logical_id, _ in synthesized.resources("AWS::S3::Bucket").items()
    }


def _resolve(value, synthesized, names: dict[str, str]):
    """The pattern with each reference to a bucket replaced by that bucket's name."""
    if isinstance(value, list):
        return [_resolve(item, synthesized, names) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        if value["Ref"] not in names:
            raise AssertionError(f"the pattern refers to {value['Ref']}, which is not a bucket")
        return names[value["Ref"]]
    if "Fn::GetStackOutput" in value:  # a cross-stack reference to an output of the data stack
        output = value["Fn::GetStackOutput"]["OutputName"]
        return _resolve(synthesized.template("data")["Outputs"][output]["Value"], synthesized, names)
    if any(key.startswith("Fn::") for key in value):
        raise AssertionError(f"cannot resolve {value} in an event pattern")
    return {key: _resolve(item, synthesized, names) for key, item in value.items()}


@pytest.fixture(scope="module")
def s3_rules(synthesized) -> dict[str, object]:
    """Target queue's logical id -> moto's EventPattern of the rule sending S3 events to it."""
    names = _bucket_names(synthesized)
    rules = {}
    for _, (_, rule) in synthesized.resources("AWS::Events::Rule").items():
        pattern = rule["Properties"]["EventPattern"]
        if pattern.get("source") != ["aws.s3"]:
            continue
        (target,) = rule["Properties"]["Targets"]
        queue = target["Arn"]["Fn::GetAtt"][0]
        rules[queue] = events_models.EventPattern.load(json.dumps(_resolve(pattern, synthesized, names)))
    return rules


def _consumer_handlers(synthesized) -> dict[str, str]:
    """Queue logical id -> the handler of the function its event source mapping drives."""
    service = synthesized.template("service")["Resources"]
    return {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: service[mapping["Properties"]["FunctionName"]["Ref"]][
            "Properties"
        ]["Handler"]
        for _, (_, mapping) in synthesized.resources("AWS::Lambda::EventSourceMapping").items()
    }


def _routed_to(s3_rules, synthesized, event: dict) -> list[str]:
    """The handlers whose queue receives `event`, by the rules as synthesized."""
    handlers = _consumer_handlers(synthesized)
    return sorted(handlers[queue].split(".")[0] for queue, rule in s3_rules.items() if rule.matches_event(event))


# --- the rules' semantics --------------------------------------------------------------------------


def test_there_is_one_s3_rule_per_change_each_to_its_own_queue(s3_rules, synthesized):
    handlers = _consumer_handlers(synthesized)
    assert sorted(handlers[queue].split(".")[0] for queue in s3_rules) == ["delete_document", "ingest_start"]


@pytest.mark.parametrize(
    ("detail_type", "bucket", "key", "reason", "expected"),
    [
        ("Object Created", INGEST_BUCKET, "reports/annual-2024.pdf", None, ["ingest_start"]),
        ("Object Created", INGEST_BUCKET, "report.pdf", "CopyObject", ["ingest_start"]),
        ("Object Created", INGEST_BUCKET, "scans/INVOICE.PDF", "CompleteMultipartUpload", ["ingest_start"]),
        ("Object Created", INGEST_BUCKET, "notes/x.pdf.txt", None, []),
        ("Object Created", INGEST_BUCKET, "notes/pdf", None, []),
        ("Object Created", INGEST_BUCKET, "notes/report.pdfx", None, []),
        ("Object Created", INGEST_BUCKET, "reports/", None, []),
        ("Object Created", OTHER_BUCKET, "reports/annual-2024.pdf", None, []),
        ("Object Created", f"{INGEST_BUCKET}-copy", "reports/annual-2024.pdf", None, []),
        ("Object Deleted", INGEST_BUCKET, "reports/annual-2024.pdf", None, ["delete_document"]),
        ("Object Deleted", INGEST_BUCKET, "scans/INVOICE.Pdf", None, ["delete_document"]),
        ("Object Deleted", INGEST_BUCKET, "reports/annual-2024.pdf.bak", None, []),
        ("Object Deleted", OTHER_BUCKET, "reports/annual-2024.pdf", None, []),
    ],
)
def test_an_s3_event_reaches_the_function_its_change_and_key_call_for(
    s3_rules, synthesized, detail_type, bucket, key, reason, expected
):
    assert _routed_to(s3_rules, synthesized, s3_event(detail_type, bucket, key, reason)) == expected


def test_other_s3_changes_to_a_pdf_drive_no_function(s3_rules, synthesized):
    restored = s3_event("Object Created", INGEST_BUCKET, "reports/annual-2024.pdf")
    restored["detail-type"] = "Object Restore Completed"
    assert _routed_to(s3_rules, synthesized, restored) == []
    from_elsewhere = s3_event("Object Created", INGEST_BUCKET, "reports/annual-2024.pdf")
    from_elsewhere["source"] = "custom.uploader"
    assert _routed_to(s3_rules, synthesized, from_elsewhere) == []


# --- redrive and timeouts, as the docs state them ----------------------------------------------------

# docs/RUNTIME.md's table: handler -> (timeout in seconds, batch size of its event sources).
DOCUMENTED_CONSUMERS = {
    "ingest_start": (60, 10),
    "index_document": (15 * 60, 1),
    "delete_document": (2 * 60, 10),
}
DOCUMENTED_MAX_RECEIVES = 3  # RUNTIME.md and SCALE.md: after 3 receives a message goes to the DLQ
DOCUMENTED_RETENTION_SECONDS = 4 * 24 * 3600  # SCALE.md: retention 4 days
VISIBILITY_PER_TIMEOUT = 6  # RUNTIME.md: each queue's visibility timeout is six times its consumer's


def _work_queues(synthesized) -> list[tuple[str, dict, dict, dict]]:
    """(handler, queue properties, function properties, mapping properties) per event source mapping."""
    service = synthesized.template("service")["Resources"]
    found = []
    for _, (_, mapping) in synthesized.resources("AWS::Lambda::EventSourceMapping").items():
        props = mapping["Properties"]
        queue = service[props["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        function = service[props["FunctionName"]["Ref"]]["Properties"]
        found.append((function["Handler"].split(".")[0], queue, function, props))
    return found


def test_each_consumer_has_the_timeout_and_batch_size_the_docs_state(synthesized):
    queues = _work_queues(synthesized)
    assert {handler for handler, *_ in queues} == set(DOCUMENTED_CONSUMERS)
    for handler, _, function, mapping in queues:
        timeout, batch = DOCUMENTED_CONSUMERS[handler]
        assert (function["Timeout"], mapping["BatchSize"]) == (timeout, batch), handler


def test_each_work_queue_hides_a_message_six_consumer_timeouts_and_dead_letters_it_after_three_receives(
    synthesized,
):
    service = synthesized.template("service")["Resources"]
    for handler, queue, function, _ in _work_queues(synthesized):
        assert queue["VisibilityTimeout"] == VISIBILITY_PER_TIMEOUT * function["Timeout"], handler
        assert queue["RedrivePolicy"]["maxReceiveCount"] == DOCUMENTED_MAX_RECEIVES, handler
        assert queue["MessageRetentionPeriod"] == DOCUMENTED_RETENTION_SECONDS, handler
        dlq = service[queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]
        assert dlq["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" not in dlq["Properties"], handler


def test_index_document_is_told_the_window_queues_receive_count(synthesized):
    # RUNTIME.md: RAGLINE_WINDOWS__MAX_RECEIVES is the WindowQueue's maxReceiveCount (3), so that the
    # last delivery of a failing window marks the document failed.
    service = synthesized.template("service")["Resources"]
    (function,) = [
        r["Properties"]
        for r in service.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler", "").startswith("index_document.")
    ]
    variables = function["Environment"]["Variables"]
    window_queue = service[variables["RAGLINE_WINDOWS__QUEUE_URL"]["Ref"]]["Properties"]
    assert int(variables["RAGLINE_WINDOWS__MAX_RECEIVES"]) == window_queue["RedrivePolicy"]["maxReceiveCount"] == 3
