"""The contract every Registry adapter honours. Subclass it and provide a `registry` fixture."""

from ragline.model import DocumentCard, DocumentState, DocumentStatus

# A card with an unknown period: None values must come back as None, not as missing keys or "None".
CARD = DocumentCard(title="Acme Corp Form 10-Q", doc_type="10-Q", issuer="Acme Corp", period=None)
INDEXED = DocumentStatus(
    source="/docs/a.pdf", state=DocumentState.INDEXED, document_id="a" * 64, chunk_count=12, page_count=3,
    scanned_pages=(2,), updated_at="2026-01-01T00:00:00+00:00", card=CARD,
)  # fmt: skip


class RegistryContract:
    def test_unknown_source_is_none(self, registry):
        assert registry.get("/docs/none.pdf") is None

    def test_record_then_get_round_trips(self, registry):
        registry.record(INDEXED)
        assert registry.get("/docs/a.pdf") == INDEXED

    def test_record_replaces_the_previous_status(self, registry):
        registry.record(INDEXED)
        failed = DocumentStatus(source="/docs/a.pdf", state=DocumentState.FAILED, reason="truncated")
        registry.record(failed)
        assert registry.get("/docs/a.pdf") == failed
        assert len(registry.all()) == 1

    def test_find_by_document_id_only_sees_indexed_content(self, registry):
        registry.record(INDEXED)
        registry.record(DocumentStatus(source="/docs/b.pdf", state=DocumentState.FAILED, document_id="b" * 64))
        assert registry.find_by_document_id("a" * 64) == INDEXED
        assert registry.find_by_document_id("b" * 64) is None

    def test_find_by_document_id_sees_a_failed_update_that_kept_its_chunks(self, registry):
        # Its content is still searchable under it: a new copy of that content is a duplicate, not indexed twice.
        kept = DocumentStatus(
            source="/docs/a.pdf", state=DocumentState.FAILED, document_id="a" * 64, chunk_count=12, reason="truncated"
        )
        registry.record(kept)
        registry.record(DocumentStatus(source="/docs/b.pdf", state=DocumentState.FAILED, document_id="b" * 64))
        assert registry.find_by_document_id("a" * 64) == kept
        assert registry.find_by_document_id("b" * 64) is None

    def test_remove_and_all(self, registry):
        registry.record(INDEXED)
        registry.record(DocumentStatus(source="/docs/b.pdf", state=DocumentState.UNCHANGED))
        registry.remove("/docs/a.pdf")
        assert [status.source for status in registry.all()] == ["/docs/b.pdf"]

    def test_sources_of_lists_every_row_of_a_content_whatever_its_state(self, registry):
        registry.record(INDEXED)
        copy = DocumentStatus(source="/docs/c.pdf", state=DocumentState.DUPLICATE, document_id="a" * 64, reason="copy")
        registry.record(copy)
        registry.record(DocumentStatus(source="/docs/b.pdf", state=DocumentState.INDEXED, document_id="b" * 64))
        assert registry.sources_of("a" * 64) == [INDEXED, copy]
        assert registry.sources_of("z" * 64) == []
