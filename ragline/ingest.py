"""Ingestion: files in, chunks indexed, with a status for every file.

Idempotent by content: a document's id is the hash of its bytes, and the registry remembers
which hash each source was indexed with. Unchanged files cost one hash; changed files have
their chunks replaced atomically; files gone from a synced folder have their chunks removed.
A failure in one file is recorded with its reason and never stops the others.

Copies: content is indexed once, under the first name that brought it; every other name
holding the same bytes is a `duplicate` row naming that holder. When the holder is deleted,
or its bytes change, the first copy takes over its chunks (and the other copies' rows name
the new holder), so the content stays served as long as one name holds it; a source that
stops holding content with no copy left drops its chunks.

Each file's outcome is decided first, as a list of writes (`ragline.writes`), then applied:
in one transaction by a store that has one (the local SQLite store), else port by port.

Files are ingested one at a time, in order, in a pipeline of three threads: the next file is
read, extracted and chunked on a preparing thread while this one is embedded, and this file's
writes are applied on a writing thread while the next one is embedded. The embedder keeps
every core busy; extraction, chunking and the stores' writes (each on one core) no longer wait
their turn. Nothing is decided ahead: a file's outcome (already indexed, a duplicate, its
writes) is decided at its turn, after the writes of every file before it are applied, so a copy
of the file before it is still recorded as a duplicate. Only the embedding runs before that,
since it needs nothing from the stores, and it is not run for a copy of a file this batch wrote.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol, TypeVar, runtime_checkable

from ragline.cards import with_card
from ragline.chunking import Chunker
from ragline.errors import ConfigurationError, DocumentError
from ragline.model import HOLDING, Chunk, Document, DocumentState, DocumentStatus, EmbeddedChunk, content_hash
from ragline.ports import ArchiveSink, Embedder, Extractor, Index, Registry, Vector
from ragline.records import EmbeddingRecord, RecordKind, archived_vector
from ragline.writes import Archive, DropChunks, Forget, MoveChunks, PutChunks, Record, Write, apply_in_order

log = logging.getLogger(__name__)

STAGES = ("read", "extract", "card", "chunk", "embed", "index", "archive")


@dataclass(frozen=True)
class IngestOutcome:
    status: DocumentStatus


@dataclass(frozen=True)
class Skipped:
    """Something found in an ingested folder and not read, with the reason: never skipped silently."""

    source: str
    reason: str


@dataclass
class IngestReport:
    outcomes: list[IngestOutcome] = field(default_factory=list)
    # Seconds in each stage over the batch. "extract", "card" and "chunk" run on the preparing thread and "index" on
    # the writing thread while another file is embedded, so the stages add up to more than the batch's wall time.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def count(self, state: DocumentState) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status.state is state)

    @property
    def failed(self) -> list[DocumentStatus]:
        return [outcome.status for outcome in self.outcomes if outcome.status.state is DocumentState.FAILED]

    @property
    def pages(self) -> int:
        return sum(
            outcome.status.page_count for outcome in self.outcomes if outcome.status.state is DocumentState.INDEXED
        )

    @property
    def chunks(self) -> int:
        return sum(
            outcome.status.chunk_count for outcome in self.outcomes if outcome.status.state is DocumentState.INDEXED
        )


@dataclass(frozen=True)
class Progress:
    """Sent after each file, so a CLI can draw a bar in pages per second."""

    source: str
    pages: int
    state: DocumentState


ProgressCallback = Callable[[Progress], None]


@dataclass
class Discovery:
    files: list[Path]  # to ingest, sorted
    missing: list[DocumentStatus]  # paths named that do not exist: failures
    skipped: list[Skipped]  # found in a folder and not read


def discover_files(paths: Iterable[Path], supports: Callable[[str], bool]) -> Discovery:
    """Supported files under the given paths, sorted; a path that does not exist is a failure, and
    everything else found in a folder is listed as skipped with its reason."""
    found = Discovery([], [], [])
    for path in paths:
        if path.is_dir():
            _walk(path, supports, found)
        elif path.is_file():
            found.files.append(path)
        else:
            found.missing.append(_failed(_source_of(path), "no such file or folder"))
    found.files = list(dict.fromkeys(Path(os.path.abspath(file)) for file in found.files))
    found.skipped.sort(key=lambda skipped: skipped.source)
    return found


def _walk(folder: Path, supports: Callable[[str], bool], found: Discovery) -> None:
    files = []
    # Links to folders are not followed (one could loop, or lead out of the folder): they are reported.
    for root, folders, names in os.walk(folder, onerror=lambda error: _unreadable(error, found)):
        for name in folders:
            if os.path.islink(os.path.join(root, name)):
                found.skipped.append(Skipped(_source_of(Path(root, name)), _LINKED_FOLDER))
        for name in names:
            path = Path(root, name)
            if reason := _skip_reason(path, supports):
                found.skipped.append(Skipped(_source_of(path), reason))
            else:
                files.append(path)
    found.files.extend(sorted(files))


_LINKED_FOLDER = "a symbolic link to a folder: not followed; ingest the folder it points to by its own path"


def _skip_reason(path: Path, supports: Callable[[str], bool]) -> str | None:
    if not path.is_file():
        return "a broken symbolic link" if path.is_symlink() else "not a regular file"
    if not supports(path.name):
        return f"{path.suffix.lower() or 'no extension'}: not a file type ragline reads"
    return None


def _unreadable(error: OSError, found: Discovery) -> None:
    found.skipped.append(Skipped(_source_of(Path(error.filename)), f"cannot read the folder: {error.strerror}"))


def _source_of(path: Path) -> str:
    """The source URI of a local file: its absolute path as the user named it.

    Symbolic links are not resolved, so a link in a synced folder is its own source, removed
    when the link is removed.
    """
    return Path(os.path.abspath(path)).as_posix()


def _version(file: Path) -> tuple[int, int, int]:
    stat = file.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _changed_since_read(turn: _Turn) -> bool:
    try:
        return _version(turn.file) != turn.version
    except OSError:
        return True  # gone: reading it again says why


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _failed(source: str, reason: str, **fields: object) -> DocumentStatus:
    return DocumentStatus(source=source, state=DocumentState.FAILED, reason=reason, updated_at=_now(), **fields)  # type: ignore[arg-type]


def _copy_of(holder: str) -> str:
    return f"same content as {holder}, which is indexed"


@dataclass(frozen=True)
class Prepared:
    """A document extracted and chunked: all of its ingestion that needs no store and no model."""

    document: Document
    chunks: list[Chunk]


@dataclass
class _Turn:
    """A file read and, unless it was already indexed when read, being prepared on the preparing thread."""

    file: Path
    source: str
    version: tuple[int, int, int] | None = None  # the file's inode, size and mtime when read
    data: bytes | None = None
    document_id: str | None = None  # the hash of `data`: taken once per file
    unreadable: str | None = None  # why the file could not be read
    preparing: Future[Prepared] | None = None


@dataclass(frozen=True)
class Plan:
    """A file's outcome: its status, and every write that makes it so (its own row last)."""

    status: DocumentStatus
    writes: tuple[Write, ...]


StageSeconds = dict[str, float]
_T = TypeVar("_T")


@dataclass
class _Writing:
    """A file's writes being applied on the writing thread."""

    source: str
    write: Future[DocumentStatus]


@dataclass
class _Batch:
    """What the turns of one `ingest` call share."""

    tags: tuple[str, ...]
    stages: StageSeconds
    preparer: ThreadPoolExecutor  # extracts and chunks, one file at a time: pdfium is not thread-safe
    writer: ThreadPoolExecutor  # applies one file's writes at a time, in the files' order
    finished: Callable[[IngestOutcome], None]  # each file's outcome, in the files' order
    pending: _Writing | None = None
    written: set[str] = field(default_factory=set)  # content hashes this batch decided to write


@contextmanager
def _timed(totals: StageSeconds, stage: str) -> Iterator[None]:
    """Add the time spent in the block to `totals[stage]`: the per-stage breakdown benchmarks report."""
    started = time.perf_counter()
    try:
        yield
    finally:
        totals[stage] = totals.get(stage, 0.0) + time.perf_counter() - started


class IngestPorts(Protocol):
    """The adapters ingestion uses. The composition root builds each on first use, so an entry
    point that only looks documents up (or deletes them) never builds an extractor or embedder."""

    extractor: Extractor
    chunker: Chunker
    embedder: Embedder
    index: Index
    registry: Registry
    archive: ArchiveSink


@runtime_checkable
class AtomicIndex(Protocol):
    """An index whose database also holds the registry's rows and an outbox of archive records (the
    local SQLite store): it applies a file's writes in one transaction, then delivers the outbox."""

    def commits_with(self, registry: Registry) -> bool: ...

    def apply(self, writes: Sequence[Write], archive: Callable[[], ArchiveSink]) -> None: ...


class IngestService:
    def __init__(self, ports: IngestPorts) -> None:
        self._ports = ports

    @property
    def _extractor(self) -> Extractor:
        return self._ports.extractor

    @property
    def _chunker(self) -> Chunker:
        return self._ports.chunker

    @property
    def _embedder(self) -> Embedder:
        return self._ports.embedder

    @property
    def _index(self) -> Index:
        return self._ports.index

    @property
    def _registry(self) -> Registry:
        return self._ports.registry

    @property
    def _archive(self) -> ArchiveSink:
        return self._ports.archive

    # --- public API -----------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        sync: bool = False,
        tags: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Ingest files and folders. With `sync`, sources gone from the given folders are removed."""
        discovery = discover_files(paths, self._extractor.supports)
        report = IngestReport(skipped=discovery.skipped)
        files = discovery.files
        for status in discovery.missing:
            report.outcomes.append(IngestOutcome(status))
        if sync:
            for status in self._prune_missing([path for path in paths if path.is_dir()]):
                report.outcomes.append(IngestOutcome(status))
        # One thread prepares the next file and one writes the last while this one is embedded (the module's
        # docstring says why).
        preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-prepare")
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write")

        def finished(outcome: IngestOutcome) -> None:
            report.outcomes.append(outcome)
            if on_progress:
                on_progress(Progress(outcome.status.source, outcome.status.page_count, outcome.status.state))

        batch = _Batch(tuple(tags), report.stage_seconds, preparer, writer, finished)
        try:
            upcoming = iter(files)
            turn = self._read(next(upcoming, None), batch)
            while turn is not None:
                following = self._read(next(upcoming, None), batch)
                self._ingest_turn(turn, batch)
                turn = following
            self._settle(batch)
        finally:
            # A batch stopped by a configuration error (or Ctrl-C) leaves no preparation running behind it, and a
            # write already begun is finished: its transaction commits or rolls back whole, never half.
            preparer.shutdown(wait=True, cancel_futures=True)
            writer.shutdown(wait=True)
        return report

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        """The files `ingest` would read under these paths."""
        return discover_files(paths, self._extractor.supports).files

    def _read(self, file: Path | None, batch: _Batch) -> _Turn | None:
        """Read `file` and start preparing it, unless it is already indexed as it stands or is a copy of a file
        this batch wrote (its turn will most likely find it a duplicate)."""
        if file is None:
            return None
        source = _source_of(file)
        try:
            with _timed(batch.stages, "read"):
                version = _version(file)
                data = file.read_bytes()
        except OSError as error:
            return _Turn(file, source, unreadable=f"cannot read the file: {error.strerror or error}")
        turn = _Turn(file, source, version=version, data=data)
        turn.document_id = content_hash(data)
        # An unchanged file is the common case of a second run: it costs a hash, not an extraction.
        if data and turn.document_id not in batch.written and self._known(source, turn.document_id) is None:
            turn.preparing = batch.preparer.submit(self._prepare, source, data, batch.tags, batch.stages)
        return turn

    def _ingest_turn(self, turn: _Turn, batch: _Batch) -> None:
        """Decide this file's outcome once the file before it is written, and start writing it."""
        embedding = self._embed_ahead(turn, batch)
        self._settle(batch)
        if turn.version is not None and _changed_since_read(turn):
            # Removed or rewritten while the file before it was ingested: what it holds now counts, read again
            # (and prepared behind the next file's preparation, which may be running).
            if turn.preparing is not None:
                turn.preparing.cancel()
            turn, embedding = self._read(turn.file, batch), None  # type: ignore[assignment]
        if turn.unreadable is not None:
            batch.finished(IngestOutcome(_failed(turn.source, turn.unreadable)))
            return
        decided = self._status_of(turn.source, lambda: self._ingest_document(turn, batch, embedding))
        if isinstance(decided, DocumentStatus):  # failed before any write of its own, and recorded so
            batch.finished(IngestOutcome(decided))
            return
        batch.written.add(turn.document_id)  # type: ignore[arg-type]  # set for every file read
        batch.pending = _Writing(turn.source, batch.writer.submit(self._applied, decided, batch.stages))

    def _embed_ahead(self, turn: _Turn, batch: _Batch) -> Future[Sequence[Vector]] | None:
        """The file's vectors (or why they could not be made), embedded while the file before it is written.

        Not for a file that was not prepared ahead, nor for a copy of a file this batch wrote: its turn will
        most likely decide it is a duplicate, and the model's time would be spent in vain.
        """
        if turn.preparing is None or turn.document_id in batch.written:
            return None
        embedding: Future[Sequence[Vector]] = Future()
        try:
            embedding.set_result(self._embedded(turn.preparing.result(), batch.stages))
        except Exception as error:  # raised at the file's turn, if its turn needs the vectors at all
            embedding.set_exception(error)
        return embedding

    def _settle(self, batch: _Batch) -> None:
        """Wait for the write in progress, and report its file's outcome (a failed write is recorded as such)."""
        writing, batch.pending = batch.pending, None
        if writing is not None:
            status = self._status_of(writing.source, writing.write.result)
            batch.finished(IngestOutcome(status))

    def _applied(self, plan: Plan, stages: StageSeconds) -> DocumentStatus:
        # The "index" stage: chunks, registry row and archive records written in one commit.
        with _timed(stages, "index"):
            self._apply(plan.writes)
        return plan.status

    def _status_of(self, source: str, step: Callable[[], _T]) -> _T | DocumentStatus:
        """What `step` returns, or, when it fails for this document, the failure recorded as its status."""
        try:
            outcome: _T | DocumentStatus = step()
        except ConfigurationError:
            raise  # not this document's fault: every other one would fail the same way
        except DocumentError as error:
            outcome = self.record_failure(source, error.reason, document_id=getattr(error, "document_id", None))
        except Exception as error:  # one bad document must not stop the batch; its reason is kept
            log.exception("unexpected failure while ingesting %s", source)
            outcome = self.record_failure(source, f"unexpected {type(error).__name__}: {error}")
        if isinstance(outcome, DocumentStatus) and outcome.state is DocumentState.FAILED:
            log.warning("failed to ingest %s: %s", source, outcome.reason)
        return outcome

    def record_failure(self, source: str, reason: str, *, document_id: str | None = None) -> DocumentStatus:
        """Record that `source` failed for `reason`, also outside an ingestion (e.g. a Textract job that failed).

        `document_id`: the content now indexed under `source`, when the failure came after its
        chunks were written; by default, the content its row named before.
        """
        status = self._failed_keeping_previous(source, reason, document_id)
        self._apply((Record(status),))
        return status

    def _failed_keeping_previous(self, source: str, reason: str, document_id: str | None = None) -> DocumentStatus:
        """A failed update leaves what was indexed before searchable, and says so."""
        try:
            still_indexed = self._index.count(source)
            previous = self._registry.get(source) if still_indexed else None
        except Exception:  # the index itself may be what failed: the reason must still be recorded
            log.exception("could not count the chunks of %s left in the index", source)
            return _failed(source, reason)
        if not still_indexed:
            return _failed(source, reason)
        # The row keeps naming the content it holds, so a copy can take it over if this name goes.
        held = document_id or (previous.document_id if previous else None)
        kept = previous if previous and previous.document_id == held else None
        return _failed(
            source,
            f"{reason}; {still_indexed} chunks of this source remain searchable",
            chunk_count=still_indexed,
            document_id=held,
            page_count=kept.page_count if kept else 0,
            scanned_pages=kept.scanned_pages if kept else (),
            card=kept.card if kept else None,
        )

    def delete(self, source: str) -> int:
        """Remove a source's registry entry, and its chunks unless a copy takes them over; return how many went."""
        previous = self._registry.get(source)
        held = self._index.count(source)
        writes = (*self._release(source, previous, replacing=False), Forget(source))
        self._apply(writes)
        return 0 if any(isinstance(write, MoveChunks) for write in writes) else held

    def _apply(self, writes: Sequence[Write]) -> None:
        """One commit point when the store has one: the file's chunks, rows and archive records
        become visible together or not at all."""
        index = self._index
        if isinstance(index, AtomicIndex) and index.commits_with(self._registry):
            index.apply(writes, lambda: self._archive)
        else:
            apply_in_order(writes, self._ports)

    # --- deciding a file's writes ---------------------------------------------------------

    def _ingest_document(self, turn: _Turn, batch: _Batch, embedding: Future[Sequence[Vector]] | None) -> Plan:
        """The plan of a file read at `turn`, decided at its turn. `embedding`: the vectors of its prepared chunks,
        if they were made ahead of its turn."""
        source, data = turn.source, turn.data or b""
        if not data:
            raise DocumentError(source, "the file is empty (0 bytes)")
        if known := self._known(source, turn.document_id):  # type: ignore[arg-type]  # set for every file read
            if turn.preparing is not None:
                turn.preparing.cancel()  # prepared in vain: a file before it in this batch had the same bytes
            return known
        # Not prepared when read (taken then for indexed, or for a copy of a file this batch wrote): still on the
        # preparing thread, which may be extracting the next file: pdfium is not thread-safe, so only it extracts.
        prepared = turn.preparing or batch.preparer.submit(self._prepare, source, data, batch.tags, batch.stages)
        # A failure while preparing (an unreadable PDF) is raised here, at the file's turn, and recorded as its own.
        preparation = prepared.result()
        vectors = embedding.result() if embedding is not None else self._embedded(preparation, batch.stages)
        return self._indexing(preparation, vectors)

    def _prepare(self, source: str, data: bytes, tags: tuple[str, ...], stages: StageSeconds) -> Prepared:
        """Extract and chunk: needs neither the stores nor the model, so it may run on another thread."""
        with _timed(stages, "extract"):
            document = self._extractor.extract(source, data)
            document = replace(document, tags=tags) if tags else document
        with _timed(stages, "card"):  # from the pages just extracted: no second pass over the file
            document = with_card(document)
        with _timed(stages, "chunk"):
            chunks = self._chunker.chunk(document)
        if not chunks:
            raise DocumentError(source, _no_text_reason(document))
        return Prepared(document, chunks)

    def _embedded(self, prepared: Prepared, stages: StageSeconds) -> Sequence[Vector]:
        """The vectors of the prepared chunks: needs the model, not the stores."""
        chunks = prepared.chunks
        with _timed(stages, "embed"):
            vectors = self._embedder.embed([chunk.embedding_text for chunk in chunks])
        if len(vectors) != len(chunks):  # a model service's fault, said as such rather than as zip's ValueError
            raise DocumentError(
                prepared.document.source,
                f"the embedding model answered {len(vectors)} vectors for {len(chunks)} chunks; nothing indexed",
            )
        return vectors

    def _indexing(self, prepared: Prepared, vectors: Sequence[Vector]) -> Plan:
        document, chunks = prepared.document, prepared.chunks
        source = document.source
        embedded = tuple(EmbeddedChunk(chunk, vector) for chunk, vector in zip(chunks, vectors, strict=True))
        indexed = DocumentStatus(
            source=source,
            state=DocumentState.INDEXED,
            document_id=document.id,
            chunk_count=len(chunks),
            page_count=len(document.pages),
            scanned_pages=document.scanned_pages,
            updated_at=_now(),
            card=document.card,
        )
        model = self._embedder.model_name
        records = tuple(chunk_record(item.chunk, item.vector, model) for item in embedded)
        previous = self._registry.get(source)
        changed = previous is not None and previous.document_id != document.id
        released = self._release(source, previous, replacing=True) if changed else ()
        # The archive before the row: if archiving fails, the row says so and the next run redoes the file.
        writes = (
            *released,
            PutChunks(source, document.id, embedded),
            Archive(source, document.id, records),
            Record(indexed),
        )
        return Plan(indexed, writes)

    def known_status(self, source: str, document_id: str) -> DocumentStatus | None:
        """The status to record instead of ingesting, when this content is already indexed; else None.

        Unchanged when `source` was indexed with the same content hash; duplicate when another
        source holds the same bytes. Recording a duplicate this way leaves any chunks the source
        held before in place: `skip_known` records it with every write that goes with it.
        """
        plan = self._known(source, document_id)
        return plan.status if plan else None

    def skip_known(self, source: str, document_id: str) -> DocumentStatus | None:
        """Like `known_status`, and apply it: the row, and the release of what `source` held before."""
        plan = self._known(source, document_id)
        if plan is None:
            return None
        self._apply(plan.writes)
        return plan.status

    def _known(self, source: str, document_id: str) -> Plan | None:
        previous = self._registry.get(source)
        if previous and previous.document_id == document_id and previous.state in HOLDING:
            unchanged = replace(previous, state=DocumentState.UNCHANGED, reason=None, updated_at=_now())
            return Plan(unchanged, (Record(unchanged),))
        twin = self._registry.find_by_document_id(document_id)
        if not twin or twin.source == source:
            return None
        # Same bytes under another name: indexing them twice would only duplicate every hit.
        duplicate = DocumentStatus(
            source=source,
            state=DocumentState.DUPLICATE,
            document_id=document_id,
            reason=_copy_of(twin.source),
            updated_at=_now(),
        )
        released = self._release(source, previous, replacing=False) if previous else ()
        return Plan(duplicate, (*released, Record(duplicate)))

    def _release(self, source: str, previous: DocumentStatus | None, *, replacing: bool) -> tuple[Write, ...]:
        """The writes by which `source` stops holding the content its row names.

        The first copy (a `duplicate` row of the same content) takes the chunks over and the
        other copies name it; with no copy left, the chunks go, unless `replacing` (new chunks
        are about to replace them, so the source is never left with none).
        """
        heirs = []
        if previous is not None and previous.holds_chunks:
            copies = self._registry.sources_of(previous.document_id)  # type: ignore[union-attr, arg-type]
            heirs = [row for row in copies if row.source != source and row.state is DocumentState.DUPLICATE]
        if not heirs:
            return () if replacing else (DropChunks(source),)
        heir, *others = heirs
        taken = replace(
            heir,
            state=DocumentState.INDEXED,
            chunk_count=previous.chunk_count,  # type: ignore[union-attr]
            page_count=previous.page_count,  # type: ignore[union-attr]
            scanned_pages=previous.scanned_pages,  # type: ignore[union-attr]
            card=previous.card,  # type: ignore[union-attr]
            reason=None,
            updated_at=_now(),
        )
        renamed = [Record(replace(row, reason=_copy_of(heir.source), updated_at=_now())) for row in others]
        return (MoveChunks(source, heir.source), Record(taken), *renamed)

    def _prune_missing(self, folders: Sequence[Path]) -> list[DocumentStatus]:
        """Sources registered under a synced folder whose file is gone: their chunks go too."""
        # Path containment, not string prefixes: syncing 'reports' must not touch 'reports-archive'.
        roots = [PurePosixPath(_source_of(folder)) for folder in folders]
        pruned = []
        for status in self._registry.all():
            inside = any(PurePosixPath(status.source).is_relative_to(root) for root in roots)
            if inside and not os.path.exists(status.source):
                removed = self.delete(status.source)
                pruned.append(
                    DocumentStatus(
                        source=status.source,
                        state=DocumentState.DELETED,
                        document_id=status.document_id,
                        chunk_count=removed,
                        reason="the file is gone from the synced folder",
                        updated_at=_now(),
                    )
                )
        return pruned


def chunk_record(chunk: Chunk, vector: Sequence[float], model: str) -> EmbeddingRecord:
    """The archive record of an indexed chunk: what whole-file ingestion and AWS page windows both write."""
    return EmbeddingRecord.now(
        id=chunk.id,
        kind=RecordKind.CHUNK,
        source=chunk.source,
        model=model,
        vector=archived_vector(vector),
        document_id=chunk.document_id,
        pages=chunk.pages,
    )


def _no_text_reason(document: Document) -> str:
    scanned = len(document.scanned_pages)
    if scanned == len(document.pages):
        return f"no text layer on any of its {scanned} page(s): it looks scanned, and OCR is not enabled"
    return "no text could be extracted"
