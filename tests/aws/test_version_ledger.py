"""The registry's version ledger on DynamoDB (moto): what makes a new version appear, and the old one
disappear, for readers at once, and what keeps a late or deleted version from being published."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from ragline.adapters.aws.dynamodb_registry import DynamoDbRegistry
from ragline.model import DocumentState, DocumentStatus
from tests.aws.test_contracts import _registry_table

SOURCE = "s3://ingest/filings/annual.pdf"
OLD, NEW, NEWER = ("a" * 64, "b" * 64, "c" * 64)


@pytest.fixture
def ledger(aws):
    dynamodb = boto3.client("dynamodb")
    _registry_table(dynamodb, with_document_index=False)
    return DynamoDbRegistry(dynamodb, "registry")


def indexed(document_id: str, chunks: int = 7) -> DocumentStatus:
    return DocumentStatus(source=SOURCE, state=DocumentState.INDEXED, document_id=document_id, chunk_count=chunks)


def test_a_version_is_hidden_while_indexed_then_swapped_with_the_old_one_in_one_step(ledger):
    ledger.record(indexed(OLD))
    ledger.begin(SOURCE, NEW)
    assert ledger.indexing(SOURCE) == NEW and ledger.hidden() == {NEW}
    assert ledger.serves(SOURCE, OLD) and not ledger.serves(SOURCE, NEW)  # readers keep the old version
    assert ledger.publish(indexed(NEW)) == (True, OLD)
    assert ledger.hidden() == {OLD}  # the new one visible, the old one hidden: the same transaction
    assert ledger.serves(SOURCE, NEW) and ledger.indexing(SOURCE) is None
    ledger.unhide(OLD)  # its chunks are deleted
    assert ledger.hidden() == set()


def test_a_version_superseded_before_its_last_window_is_not_published(ledger):
    ledger.record(indexed(OLD))
    ledger.begin(SOURCE, NEW)
    ledger.begin(SOURCE, NEWER)  # overwritten while NEW's windows ran
    assert ledger.publish(indexed(NEW)) == (False, None)
    assert ledger.serves(SOURCE, OLD) and ledger.indexing(SOURCE) == NEWER
    assert ledger.hidden() == {NEW, NEWER}  # NEW stays hidden until its own windows clean it up
    ledger.abandon(SOURCE, NEW, None)
    assert ledger.hidden() == {NEWER} and ledger.get(SOURCE).state is DocumentState.INDEXED


def test_a_deleted_source_is_not_brought_back_by_its_last_window(ledger):
    ledger.begin(SOURCE, NEW)
    ledger.remove(SOURCE)  # delete_document
    assert ledger.publish(indexed(NEW)) == (False, None)
    assert ledger.get(SOURCE) is None


def test_giving_a_version_up_marks_the_source_failed_only_while_that_version_is_current(ledger):
    ledger.record(indexed(OLD))
    ledger.begin(SOURCE, NEW)
    ledger.abandon(SOURCE, NEW, "gave up after 3 attempts: the endpoint is down")
    failed = ledger.get(SOURCE)
    assert failed.state is DocumentState.FAILED and failed.reason.startswith("gave up")
    assert failed.document_id == OLD and ledger.indexing(SOURCE) is None and ledger.hidden() == set()
    ledger.begin(SOURCE, NEWER)
    ledger.abandon(SOURCE, NEW, "a stale failure")  # NEWER owns the row now
    assert ledger.indexing(SOURCE) == NEWER and ledger.get(SOURCE).reason.startswith("gave up")


def test_a_version_given_up_records_when_in_utc_to_the_second(ledger):
    ledger.begin(SOURCE, NEW)
    before = datetime.now(UTC).replace(microsecond=0)
    ledger.abandon(SOURCE, NEW, "gave up after 3 attempts: the endpoint is down")
    updated_at = datetime.fromisoformat(ledger.get(SOURCE).updated_at)
    assert updated_at.utcoffset() == timedelta(0) and updated_at.microsecond == 0
    assert before <= updated_at <= datetime.now(UTC)


def test_a_source_indexed_for_the_first_time_has_no_chunks_or_pages_until_published(ledger):
    # `begin` writes only the version in flight and the state: the row has no counts yet, and reads as none.
    ledger.begin(SOURCE, NEW)
    first = ledger.get(SOURCE)
    assert (first.state, first.chunk_count, first.page_count, first.document_id) == (DocumentState.INDEXING, 0, 0, None)


def test_the_ledger_item_is_not_a_document(ledger):
    ledger.begin(SOURCE, NEW)
    assert [status.source for status in ledger.all()] == [SOURCE]
    assert ledger.get(SOURCE).state is DocumentState.INDEXING
