"""The contract every ArchiveSink honours. Subclass it and provide `archive` and `read_back` fixtures."""

from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, EmbeddingRecord, RecordKind


def records() -> list[EmbeddingRecord]:
    return [
        EmbeddingRecord.now(id="doc:00000", kind=RecordKind.CHUNK, source="/docs/a.pdf", model="m", vector=[0.6, 0.8],
                            document_id="doc", pages=(1, 2)),
        EmbeddingRecord.now(id="q-1", kind=RecordKind.PROMPT, source="cli", model="m", vector=[1.0, 0.0]),
    ]  # fmt: skip


class ArchiveContract:
    def test_every_record_is_written_under_its_prefix_with_its_attribution(self, archive, read_back):
        written = records()
        assert archive.write(written) == 2
        assert list(read_back(EMBEDDING_ARCHIVE_PREFIX)) == [written[0]]
        assert list(read_back(PROMPT_ARCHIVE_PREFIX)) == [written[1]]

    def test_records_carry_id_time_source_model_vector(self, archive, read_back):
        archive.write(records())
        record = next(iter(read_back(EMBEDDING_ARCHIVE_PREFIX)))
        assert (record.id, record.source, record.model, record.vector) == ("doc:00000", "/docs/a.pdf", "m", [0.6, 0.8])
        assert record.time.endswith("+00:00")

    def test_writes_append(self, archive, read_back):
        archive.write(records())
        archive.write(records())
        assert len(list(read_back(PROMPT_ARCHIVE_PREFIX))) == 2
