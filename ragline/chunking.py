"""Structure-aware chunking bounded by the embedding model's own token count.

The pipeline is: page text -> blocks (headings, paragraphs, tables, each knowing its page) ->
chunks packed up to a token budget. Sections start new chunks; tables stay whole when they
fit; an over-long paragraph is cut between sentences, and an over-long sentence between
tokens. Nothing is dropped and nothing is truncated: every character of the cleaned text ends
up in some chunk.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum

from ragline.cards import card_header
from ragline.model import Chunk, Document, Page
from ragline.ports import TokenCounter


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    TABLE = "table"


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    pages: tuple[int, ...]
    level: int = 0  # heading depth, 1 = top


# --- From page text to blocks -------------------------------------------------------------

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_NUMBERED_HEADING = re.compile(r"^((?:\d{1,2}\.){0,3}\d{1,2})\.?\s+([A-Z][^.!?]{1,90})$")
_ITEM_HEADING = re.compile(r"^(?:item|part|section|chapter|article)\s+[\dIVX]+[A-Z]?\b.{0,90}$", re.IGNORECASE)
_TERMINAL = re.compile(r"[.!?:;\"')\]]$")
_NUMERIC_TOKEN = re.compile(r"^[($€£+-]*\d[\d,.]*%?\)?$|^[-–—]$")
_CURRENCY_SYMBOLS = frozenset("$€£¥")
_MARKDOWN_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
HEADING_MAX_CHARS = 100
UNMARKED_HEADING_LEVEL = 3  # a guessed heading nests under numbered ones


def heading_level(line: str) -> int:
    """The depth of a heading line, or 0 when the line is not a heading."""
    stripped = line.strip()
    if markdown := _MARKDOWN_HEADING.match(stripped):
        return len(markdown.group(1))
    if len(stripped) > HEADING_MAX_CHARS or _TERMINAL.search(stripped):
        return 0
    if numbered := _NUMBERED_HEADING.match(stripped):
        return numbered.group(1).count(".") + 1
    if _ITEM_HEADING.match(stripped):
        return 1
    return 0


def is_table_row(line: str) -> bool:
    """Rows of financial tables: a label then two or more figures. Markdown tables: pipes."""
    if _MARKDOWN_TABLE_ROW.match(line):
        return True
    tokens = [token for token in line.split() if token not in _CURRENCY_SYMBOLS]
    # "year 2023, reached 15.9 MGD." is prose with numbers: rows rarely end a sentence.
    if len(tokens) > 3 and line.rstrip().endswith("."):
        return False
    numeric = [bool(_NUMERIC_TOKEN.match(token)) for token in tokens]
    trailing_figures = len(numeric) - len("".join("1" if flag else "0" for flag in numeric).rstrip("1"))
    return sum(numeric) >= 2 and (sum(numeric) * 2 >= len(tokens) or trailing_figures >= 2)


def _is_unmarked_heading(line: str, next_line: str | None) -> bool:
    """A short line without terminal punctuation, in title case, followed by a capitalised line."""
    stripped = line.strip()
    words = stripped.split()
    if not 1 <= len(words) <= 10 or len(stripped) > HEADING_MAX_CHARS // 2:
        return False
    if _TERMINAL.search(stripped) or not stripped[0].isupper():
        return False
    capitalised = sum(1 for word in words if word[0].isupper() or not word[0].isalpha())
    return capitalised * 2 > len(words) and (next_line is None or next_line.strip()[:1].isupper())


def _ends_paragraph(line: str, next_line: str | None, typical_width: int) -> bool:
    """PDF text has no blank lines between paragraphs: a short line ending a sentence ends one."""
    if next_line is None or not next_line.strip():
        return True
    stripped = line.rstrip()
    return (
        bool(_TERMINAL.search(stripped)) and len(stripped) < typical_width * 0.85 and next_line.lstrip()[:1].isupper()
    )


def page_blocks(text: str, page: int) -> list[Block]:
    """Split one page's cleaned text into headings, paragraphs and tables."""
    lines = [line.rstrip() for line in text.splitlines()]
    widths = sorted(len(line) for line in lines if line.strip())
    typical_width = widths[int(len(widths) * 0.9)] if widths else 0
    blocks: list[Block] = []
    paragraph: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(BlockKind.PARAGRAPH, " ".join(paragraph), (page,)))
            paragraph.clear()
        if table:
            blocks.append(Block(BlockKind.TABLE, "\n".join(table), (page,)))
            table.clear()

    for position, line in enumerate(lines):
        stripped = line.strip()
        next_line = next((later for later in lines[position + 1 :] if later.strip()), None)
        if not stripped:
            flush()
            continue
        if is_table_row(stripped):
            if paragraph:
                flush()
            table.append(stripped)
            continue
        level = heading_level(stripped)
        if not level and not paragraph and not table and _is_unmarked_heading(stripped, next_line):
            level = UNMARKED_HEADING_LEVEL  # unnumbered headings nest under numbered ones
        if level:
            flush()
            blocks.append(Block(BlockKind.HEADING, _MARKDOWN_HEADING.sub(r"\2", stripped), (page,), level))
        else:
            if table:
                flush()
            paragraph.append(stripped)
            if _ends_paragraph(stripped, next_line, typical_width):
                flush()
    flush()
    return _attach_table_headers(blocks)


TABLE_HEADER_MAX_WORDS = 8


def _is_header_cell(block: Block) -> bool:
    """A short untitled line, or a guessed (unnumbered) heading: both are column titles before a table."""
    if block.kind is BlockKind.HEADING:
        return block.level == UNMARKED_HEADING_LEVEL and len(block.text.split()) <= TABLE_HEADER_MAX_WORDS
    words = block.text.split()
    return block.kind is BlockKind.PARAGRAPH and len(words) <= TABLE_HEADER_MAX_WORDS and not block.text.endswith(".")


def _attach_table_headers(blocks: list[Block]) -> list[Block]:
    """Column titles come out of a PDF as short lines before the numeric rows: keep them with the table."""
    merged: list[Block] = []
    for block in blocks:
        if block.kind is BlockKind.TABLE:
            headers: list[Block] = []
            while merged and _is_header_cell(merged[-1]):
                headers.insert(0, merged.pop())
            if headers:
                block = Block(
                    BlockKind.TABLE, "\n".join([*(header.text for header in headers), block.text]), block.pages
                )
        merged.append(block)
    return merged


def document_blocks(document: Document) -> list[Block]:
    """Blocks of the whole document; a paragraph running over a page break is joined."""
    blocks: list[Block] = []
    for page in document.pages:
        for block in page_blocks(page.text, page.number):
            if blocks and _continues(blocks[-1], block):
                previous = blocks.pop()
                block = Block(BlockKind.PARAGRAPH, f"{previous.text} {block.text}", previous.pages + block.pages)
            blocks.append(block)
    return blocks


def _continues(previous: Block, block: Block) -> bool:
    return (
        previous.kind is BlockKind.PARAGRAPH
        and block.kind is BlockKind.PARAGRAPH
        and block.pages[0] != previous.pages[-1]
        and not _TERMINAL.search(previous.text)
        and block.text[:1].islower()
    )


# --- From blocks to chunks ----------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, cut after . ! or ? before a capital or a digit."""
    return [sentence.strip() for sentence in _SENTENCE_BREAK.split(text) if sentence.strip()]


@dataclass
class _Piece:
    """A unit that is never split further when packing: a sentence, a table row, a table."""

    text: str
    pages: tuple[int, ...]
    tokens: int
    joiner: str = " "


@dataclass
class _Draft:
    heading_path: tuple[str, ...]
    pieces: list[_Piece] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(piece.tokens for piece in self.pieces)

    @property
    def text(self) -> str:
        if not self.pieces:
            return ""
        parts = [self.pieces[0].text]
        for piece in self.pieces[1:]:
            parts.append(piece.joiner + piece.text)
        return "".join(parts)

    @property
    def pages(self) -> tuple[int, ...]:
        return tuple(sorted({page for piece in self.pieces for page in piece.pages}))


class Chunker:
    """Packs a document's blocks into chunks that fit the embedding model.

    `chunk` reads a whole document; `stream` reads it a few pages at a time and can stop and
    resume from a `ChunkState`, so a 3,000-page document is chunked in page windows (on AWS, one
    window per invocation) into exactly the chunks, positions and ids `chunk` would give.
    """

    def __init__(self, tokens: TokenCounter, *, max_tokens: int, overlap_tokens: int, contextual_header: bool) -> None:
        self._tokens = tokens
        self._max_tokens = min(max_tokens, tokens.max_tokens)
        self._overlap_tokens = overlap_tokens
        self._contextual_header = contextual_header

    def chunk(self, document: Document) -> list[Chunk]:
        stream = self.stream(document)
        chunks = [chunk for page in document.pages for chunk in stream.feed(page)]
        return chunks + stream.finish()

    def stream(self, document: Document, state: ChunkState | None = None) -> ChunkStream:
        """Chunks of `document` (its pages are not read: they are fed) from `state` on."""
        return ChunkStream(self, document, state or ChunkState())

    @staticmethod
    def document_label(document: Document) -> str:
        """What the header says of the document: its card (who, what, when) when it has one, else its title."""
        return card_header(document.card) if document.card else document.title

    def _embedding_text(self, title: str, heading_path: tuple[str, ...], text: str) -> str:
        header = self._header(title, heading_path)
        return f"{header}\n{text}" if header else text

    def _header(self, title: str, heading_path: tuple[str, ...]) -> str:
        """Title and section: a chunk saying "the Company" still says whose filing it is."""
        if not self._contextual_header:
            return ""
        return " > ".join((title, *heading_path))

    @functools.lru_cache(maxsize=256)  # noqa: B019  # one chunker per engine; headings repeat per section
    def _header_tokens(self, title: str, heading_path: tuple[str, ...]) -> int:
        header = self._header(title, heading_path)
        return self._tokens.count(header) if header else 0

    @functools.lru_cache(maxsize=256)  # noqa: B019  # asked once per block: the header is joined and counted once
    def _budget(self, title: str, heading_path: tuple[str, ...]) -> int:
        header_tokens = self._header_tokens(title, heading_path) + 1 if self._header(title, heading_path) else 0
        # A pathological heading may not eat the whole budget: keep at least half for text.
        return max(self._max_tokens - header_tokens, self._max_tokens // 2)

    def _token_counts(self, title: str, drafts: list[_Draft], texts: list[str]) -> list[int]:
        """The exact token count of each draft's embedding text, what the model will read."""
        if self._tokens.additive:
            # Header and pieces are joined by whitespace and were each counted already: counting every chunk
            # again took ~30% of chunking's CPU (bench/RESULTS.md 3.8), CPU the embedder needs during ingestion.
            return [self._header_tokens(title, draft.heading_path) + draft.tokens for draft in drafts]
        return self._tokens.count_many(texts)

    def _clip_heading(self, text: str) -> str:
        return text if len(text) <= HEADING_MAX_CHARS else text[: HEADING_MAX_CHARS - 1] + "…"

    def _overlap(self, previous: _Draft, room: int) -> list[_Piece]:
        """The last sentences of the previous chunk, up to the configured overlap."""
        carried: list[_Piece] = []
        allowance = min(self._overlap_tokens, room)
        for piece in reversed(previous.pieces):
            if piece.tokens > allowance:
                break
            carried.insert(0, piece)
            allowance -= piece.tokens
        return carried

    def _pieces(self, block: Block, tokens: int, budget: int) -> list[_Piece]:
        if tokens <= budget:
            return [_Piece(block.text, block.pages, tokens, joiner="\n\n")]
        if block.kind is BlockKind.TABLE:
            units, joiner = block.text.split("\n"), "\n"
        else:
            units, joiner = split_sentences(block.text), " "
        pieces = []
        for unit, unit_tokens in zip(units, self._tokens.count_many(units), strict=True):
            parts = [unit] if unit_tokens <= budget else self._tokens.split(unit, budget)
            counts = [unit_tokens] if len(parts) == 1 else self._tokens.count_many(parts)
            for part, part_tokens in zip(parts, counts, strict=True):
                pieces.append(_Piece(part, block.pages, part_tokens, joiner="\n\n" if not pieces else joiner))
        return pieces


# --- Chunking a few pages at a time -------------------------------------------------------


@dataclass(frozen=True)
class ChunkState:
    """Where chunking stopped: all that the following pages depend on, and nothing more.

    The heading path in force, the chunk being filled (its pieces also seed the next chunk's
    overlap), the last block read (the next page may continue its paragraph) and the next
    chunk position. A page window's state is a few kilobytes whatever the document's size, and
    it travels as JSON (`to_json`/`from_json`) in the next window's queue message.
    """

    next_position: int = 0
    heading_levels: tuple[tuple[int, str], ...] = ()
    draft_heading_path: tuple[str, ...] = ()
    draft_pieces: tuple[_Piece, ...] = ()
    open_block: Block | None = None

    def to_json(self) -> dict[str, object]:
        block = self.open_block
        return {
            "next_position": self.next_position,
            "heading_levels": [[level, text] for level, text in self.heading_levels],
            "draft_heading_path": list(self.draft_heading_path),
            "draft_pieces": [
                [piece.text, list(piece.pages), piece.tokens, piece.joiner] for piece in self.draft_pieces
            ],
            "open_block": None
            if block is None
            else {"kind": block.kind.value, "text": block.text, "pages": list(block.pages), "level": block.level},
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ChunkState:
        block = data.get("open_block")
        return cls(
            next_position=int(data["next_position"]),  # type: ignore[call-overload]
            heading_levels=tuple((int(level), str(text)) for level, text in data["heading_levels"]),  # type: ignore[attr-defined]
            draft_heading_path=tuple(str(text) for text in data["draft_heading_path"]),  # type: ignore[attr-defined]
            draft_pieces=tuple(
                _Piece(str(text), tuple(int(page) for page in pages), int(tokens), str(joiner))
                for text, pages, tokens, joiner in data["draft_pieces"]  # type: ignore[attr-defined]
            ),
            open_block=None
            if not isinstance(block, dict)
            else Block(BlockKind(block["kind"]), block["text"], tuple(block["pages"]), int(block["level"])),
        )


class ChunkStream:
    """One document's chunks, fed page by page; `finish` after the last page.

    Packing is the same as for a whole document: a block is packed only once the next block
    is known not to continue it (a paragraph running over a page break is one block), so a
    window boundary changes nothing about where chunks start and end.
    """

    def __init__(self, chunker: Chunker, document: Document, state: ChunkState) -> None:
        self._chunker = chunker
        self._document = document
        self._label = chunker.document_label(document)
        self._position = state.next_position
        self._path = list(state.heading_levels)
        self._draft = _Draft(heading_path=state.draft_heading_path, pieces=list(state.draft_pieces))
        self._open = state.open_block

    @property
    def state(self) -> ChunkState:
        return ChunkState(
            next_position=self._position,
            heading_levels=tuple(self._path),
            draft_heading_path=self._draft.heading_path,
            draft_pieces=tuple(self._draft.pieces),
            open_block=self._open,
        )

    def feed(self, page: Page) -> list[Chunk]:
        """The chunks completed by this page (the last paragraph waits for the next page)."""
        ready: list[Block] = []
        for block in page_blocks(page.text, page.number):
            if self._open and _continues(self._open, block):
                joined = f"{self._open.text} {block.text}"
                self._open = Block(BlockKind.PARAGRAPH, joined, self._open.pages + block.pages)
                continue
            if self._open:
                ready.append(self._open)
            self._open = block
        return self._chunks(self._pack(ready))

    def finish(self) -> list[Chunk]:
        """The remaining chunks, once the last page has been fed."""
        drafts = self._pack([self._open] if self._open else [])
        drafts.append(self._draft)
        self._open, self._draft = None, _Draft(heading_path=self._draft.heading_path)
        return self._chunks(drafts)

    def _pack(self, blocks: list[Block]) -> list[_Draft]:
        """Add blocks to the chunk being filled; return the drafts they completed."""
        chunker, done = self._chunker, []
        for block, tokens in zip(blocks, chunker._tokens.count_many([block.text for block in blocks]), strict=True):
            if block.kind is BlockKind.HEADING:
                done.append(self._draft)
                self._path = [(level, text) for level, text in self._path if level < block.level]
                self._path.append((block.level, block.text))
                self._draft = _Draft(heading_path=tuple(chunker._clip_heading(text) for _, text in self._path))
                continue
            budget = chunker._budget(self._label, self._draft.heading_path)
            for piece in chunker._pieces(block, tokens, budget):
                if self._draft.tokens + piece.tokens > budget and self._draft.pieces:
                    done.append(self._draft)
                    carried = chunker._overlap(self._draft, budget - piece.tokens)
                    self._draft = _Draft(heading_path=self._draft.heading_path, pieces=carried)
                self._draft.pieces.append(piece)
        return done

    def _chunks(self, drafts: list[_Draft]) -> list[Chunk]:
        document, chunker = self._document, self._chunker
        drafts = [draft for draft in drafts if draft.pieces]
        texts = [chunker._embedding_text(self._label, draft.heading_path, draft.text) for draft in drafts]
        counts = chunker._token_counts(self._label, drafts, texts)
        chunks = []
        for draft, embedding_text, token_count in zip(drafts, texts, counts, strict=True):
            chunks.append(
                Chunk(
                    id=Chunk.make_id(document.id, self._position),
                    document_id=document.id,
                    source=document.source,
                    title=document.title,
                    position=self._position,
                    text=draft.text,
                    pages=draft.pages,
                    heading_path=draft.heading_path,
                    token_count=token_count,
                    embedding_text=embedding_text,
                    date=document.date,
                    tags=document.tags,
                    card=document.card,
                )
            )
            self._position += 1
        return chunks
