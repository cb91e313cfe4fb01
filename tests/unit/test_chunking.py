import re

import pytest

from ragline.chunking import BlockKind, Chunker, document_blocks, heading_level, is_table_row
from ragline.model import Document, Page


def _document(*pages: str, title: str = "Pump Manual") -> Document:
    return Document(
        id="d" * 64,
        source="/docs/manual.pdf",
        title=title,
        pages=tuple(Page(number=index + 1, text=text) for index, text in enumerate(pages)),
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


@pytest.fixture
def chunker(token_counter):
    return Chunker(token_counter, max_tokens=64, overlap_tokens=20, contextual_header=True)


LONG_SECTION = " ".join(
    f"Sentence {index} explains how pump {index} keeps the pressure above the limit." for index in range(40)
)


@pytest.mark.parametrize(
    ("line", "level"),
    [("1 Introduction", 1), ("2.3 Pressure limits", 2), ("## Safety", 2), ("Item 7A. Market Risk", 1), ("The end.", 0)],
)
def test_heading_levels(line, level):
    assert heading_level(line) == level


def test_every_chunk_fits_the_model_and_knows_its_pages(chunker, token_counter):
    chunks = chunker.chunk(_document(f"1 Overview\n{LONG_SECTION}", f"2 Maintenance\n{LONG_SECTION}"))
    assert len(chunks) > 4
    for chunk in chunks:
        assert chunk.token_count == token_counter.count(chunk.embedding_text)
        assert chunk.token_count <= 64
        assert chunk.pages in ((1,), (2,))


def test_no_word_is_lost(chunker):
    document = _document(f"1 Overview\n{LONG_SECTION}", f"2 Maintenance\n{LONG_SECTION}\nShort line.")
    chunked = {word for chunk in chunker.chunk(document) for word in _words(chunk.embedding_text)}
    for word in _words(LONG_SECTION + " Short line Overview Maintenance"):
        assert word in chunked


def test_consecutive_chunks_overlap_by_whole_sentences(chunker):
    chunks = chunker.chunk(_document(f"1 Overview\n{LONG_SECTION}"))
    first_sentences = [sentence for sentence in chunks[1].text.split(". ") if sentence]
    assert first_sentences[0].rstrip(".") in chunks[0].text


def test_no_overlap_when_configured_off(token_counter):
    chunker = Chunker(token_counter, max_tokens=64, overlap_tokens=0, contextual_header=False)
    chunks = chunker.chunk(_document(LONG_SECTION))
    joined = " ".join(chunk.text for chunk in chunks)
    assert _words(joined) == _words(LONG_SECTION)


def test_heading_path_nests_and_resets(chunker):
    chunks = chunker.chunk(
        _document(
            "1 Pumps\nPumps move water uphill.\n1.1 Seals\nSeals are replaced yearly.\n2 Valves\nValves are greased."
        )
    )
    paths = {chunk.text.split(".")[0]: chunk.heading_path for chunk in chunks}
    assert paths["Pumps move water uphill"] == ("1 Pumps",)
    assert paths["Seals are replaced yearly"] == ("1 Pumps", "1.1 Seals")
    assert paths["Valves are greased"] == ("2 Valves",)


def test_embedding_text_carries_title_and_section(chunker):
    chunk = chunker.chunk(_document("1 Pumps\nPumps move water uphill."))[0]
    assert chunk.embedding_text.startswith("Pump Manual > 1 Pumps\n")
    assert chunk.text == "Pumps move water uphill."


def test_a_table_that_fits_stays_whole(token_counter):
    table = "Station 2024 2023\nHillcrest 2,600 2,410\nLakeside 1,900 1,850\nNorth 3,100 2,990"
    chunker = Chunker(token_counter, max_tokens=120, overlap_tokens=10, contextual_header=True)
    blocks = document_blocks(_document(f"Intro paragraph about flows.\n{table}\nAfter the table."))
    assert [block.kind for block in blocks] == [BlockKind.PARAGRAPH, BlockKind.TABLE, BlockKind.PARAGRAPH]
    chunks = chunker.chunk(_document(f"{LONG_SECTION[:400]}\n{table}\nAfter the table."))
    assert sum(table in chunk.text for chunk in chunks) == 1


def test_a_paragraph_running_over_a_page_break_is_joined_and_cites_both_pages(chunker):
    chunks = chunker.chunk(_document("The pressure relief valve opens when the", "pressure exceeds ten bar."))
    assert chunks[0].text == "The pressure relief valve opens when the pressure exceeds ten bar."
    assert chunks[0].pages == (1, 2)


def test_an_unbreakable_run_longer_than_a_chunk_is_split_not_truncated(chunker, token_counter):
    run = "-".join(f"X{index:04d}" for index in range(300))
    chunks = chunker.chunk(_document(run))
    assert len(chunks) > 1
    assert all(chunk.token_count <= 64 for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks).replace(" ", "") == run


def test_ids_are_deterministic_and_positional(chunker):
    document = _document(LONG_SECTION)
    first, second = chunker.chunk(document), chunker.chunk(document)
    assert [chunk.id for chunk in first] == [chunk.id for chunk in second]
    assert [chunk.id for chunk in first] == [f"{'d' * 64}:{position:05d}" for position in range(len(first))]


def test_empty_pages_give_no_chunks(chunker):
    assert chunker.chunk(_document("", "   ")) == []


@pytest.mark.parametrize(
    ("line", "is_row"),
    [
        ("Hillcrest 2 2,600 55 98", True),
        ("Diluted earnings per share (USD) 2.14 1.78 +20.2%", True),
        ("Total revenue $ 12,842 $ 11,520", True),
        ("| Net income | 33.1 | 27.4 |", True),
        ("during the heat wave of the fictional year 2023, reached 15.9 MGD.", False),
        ("In 2018 we sold 5 units", False),
        ("2.1 Pump stations and pressure alarms", False),
    ],
)
def test_table_rows_are_told_from_prose_and_headings(line, is_row):
    assert is_table_row(line) is is_row


def test_column_titles_stay_with_their_table():
    text = "Stations lift water.\nStation Pumps\nLow-pressure alarm (psi)\nMillrace 3 48\nHillcrest 2 55\nAfter it."
    kinds = [(block.kind, block.text.splitlines()[0]) for block in document_blocks(_document(text))]
    assert kinds == [
        (BlockKind.PARAGRAPH, "Stations lift water."),
        (BlockKind.TABLE, "Station Pumps"),
        (BlockKind.PARAGRAPH, "After it."),
    ]


def _windowed(chunker, document, window_pages):
    """Chunk page windows as the AWS windows do: a fresh stream per window, state through JSON."""
    import json

    from ragline.chunking import ChunkState

    chunks, state = [], None
    pages = document.pages
    for start in range(0, len(pages), window_pages):
        stream = chunker.stream(document, ChunkState.from_json(json.loads(state)) if state else None)
        for page in pages[start : start + window_pages]:
            chunks.extend(stream.feed(page))
        if start + window_pages >= len(pages):
            chunks.extend(stream.finish())
        state = json.dumps(stream.state.to_json())
    return chunks


def _long_document():
    """Sections, tables and paragraphs that run over page breaks, so window edges fall inside them."""
    pages = []
    for number in range(1, 13):
        # a numbered subsection nests under the section a window or two before it
        heading = {1: f"{number} Pumping stations\n", 3: f"{number - 2}.1 Valve maintenance\n"}.get(number % 4, "")
        table = "Revenue 1,200 1,350\nCosts 800 910\n" if number % 3 == 0 else ""
        body = " ".join(f"Pump {number}.{index} holds the line pressure steady." for index in range(9))
        # no final full stop, and the next page opens in lower case: the paragraph continues
        pages.append(f"{heading}{table}{body} and the valve on page {number} stays")
        pages[-1] += "\n"
    pages = [text if index == 0 else f"open while it runs.\n{text}" for index, text in enumerate(pages)]
    return _document(*pages)


@pytest.mark.parametrize("window_pages", [1, 2, 5, 12])
def test_page_windows_give_exactly_the_chunks_of_the_whole_document(chunker, window_pages):
    document = _long_document()
    whole = chunker.chunk(document)
    assert any(len(chunk.pages) > 1 for chunk in whole), "the fixture must have chunks across page breaks"
    assert _windowed(chunker, document, window_pages) == whole
