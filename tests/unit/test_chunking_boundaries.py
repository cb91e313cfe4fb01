"""Chunking at its edges: heading limits, blocks across page breaks, clipped headings, overlap order,
tables larger than a chunk (issue 16: mutation survivors in ragline.chunking)."""

from __future__ import annotations

import itertools

import pytest

from ragline.chunking import (
    HEADING_MAX_CHARS,
    UNMARKED_HEADING_LEVEL,
    BlockKind,
    Chunker,
    document_blocks,
    heading_level,
    is_table_row,
    split_sentences,
)
from ragline.model import Document, Page
from tests.unit.test_chunking import _windowed


def _document(*pages: str) -> Document:
    return Document(
        id="e" * 64,
        source="/docs/plant.pdf",
        title="Plant Manual",
        pages=tuple(Page(number=index + 1, text=text) for index, text in enumerate(pages)),
    )


def _blocks(*pages: str) -> list[tuple[BlockKind, str, tuple[int, ...]]]:
    return [(block.kind, block.text, block.pages) for block in document_blocks(_document(*pages))]


# --- what is a heading ----------------------------------------------------------------------

HEADING_OF_MAX_LENGTH = (
    "Section 12 Pressure limits at the pumping stations of Hillcrest, Lakeside, Millrace and Northgate II"
)
# A prose line wrapped by the PDF (no final stop) that happens to open like an item heading.
WRAPPED_PROSE_LINE = (
    "Section 123 of the Water Act requires every operator of a pumping station serving more than ten thous"
)


def test_a_heading_as_long_as_the_limit_is_a_heading_and_a_longer_line_is_not():
    assert len(HEADING_OF_MAX_LENGTH) == HEADING_MAX_CHARS
    assert len(WRAPPED_PROSE_LINE) == HEADING_MAX_CHARS + 1
    assert heading_level(HEADING_OF_MAX_LENGTH) == 1
    assert heading_level(WRAPPED_PROSE_LINE) == 0


@pytest.mark.parametrize(
    "sentence",
    [
        "Part 2 of the contract requires a yearly inspection.",
        "Section 4 applies to every station!",
        "Item 7 is the largest expense:",
    ],
)
def test_a_sentence_that_opens_like_an_item_heading_is_prose(sentence):
    assert heading_level(sentence) == 0


def test_a_one_word_title_case_line_before_a_paragraph_is_a_heading():
    assert [(kind, text) for kind, text, _ in _blocks("Overview\nThe plant treats water every day.")] == [
        (BlockKind.HEADING, "Overview"),
        (BlockKind.PARAGRAPH, "The plant treats water every day."),
    ]
    assert document_blocks(_document("Overview\nThe plant treats water every day."))[0].level == UNMARKED_HEADING_LEVEL


def test_a_title_case_line_running_on_into_a_lower_case_line_is_prose_not_a_heading():
    assert _blocks("Northern Pump Station\nis checked every quarter by the site engineer.") == [
        (BlockKind.PARAGRAPH, "Northern Pump Station is checked every quarter by the site engineer.", (1,))
    ]
    assert _blocks("Northern Pump Station\nThe station is checked every quarter.") == [
        (BlockKind.HEADING, "Northern Pump Station", (1,)),
        (BlockKind.PARAGRAPH, "The station is checked every quarter.", (1,)),
    ]


@pytest.mark.parametrize(
    ("line", "is_heading"),
    [
        ("Notes On Pumps And Valves Of The Old North Plant", True),  # ten words
        ("Pumps And Valves Of The Old North Mill At Dale Row", False),  # eleven words: a line of names
    ],
)
def test_an_unmarked_heading_has_at_most_ten_words(line, is_heading):
    kinds = [kind for kind, _, _ in _blocks(f"{line}\nThe plant treats water every day.")]
    assert (kinds[0] is BlockKind.HEADING) is is_heading


def test_a_prose_line_with_trailing_blanks_is_not_a_table_row():
    assert not is_table_row("Flows were 12, 15 and 18.   ")


def test_a_header_row_of_years_before_a_label_is_a_table_row():
    assert is_table_row("2024 2023 Change")
    assert _blocks("2024 2023 Change\nRevenue 1,200 1,350 12%\nCosts 800 910 14%") == [
        (BlockKind.TABLE, "2024 2023 Change\nRevenue 1,200 1,350 12%\nCosts 800 910 14%", (1,))
    ]


# --- blocks across page breaks --------------------------------------------------------------


def test_document_blocks_join_a_paragraph_running_over_a_page_break():
    assert _blocks("The relief valve opens when the", "pressure exceeds ten bar.") == [
        (BlockKind.PARAGRAPH, "The relief valve opens when the pressure exceeds ten bar.", (1, 2))
    ]


def test_a_table_ending_a_page_is_not_joined_with_a_lower_case_line_opening_the_next():
    assert _blocks("Revenue 1,200 1,350\nCosts 800 910", "and the remainder was paid in cash.") == [
        (BlockKind.TABLE, "Revenue 1,200 1,350\nCosts 800 910", (1,)),
        (BlockKind.PARAGRAPH, "and the remainder was paid in cash.", (2,)),
    ]


def test_two_paragraphs_of_one_page_stay_two(token_counter):
    page = "The pumps were serviced in May.\nThey run at night when power is cheap."
    assert [text for _, text, _ in _blocks(page)] == [
        "The pumps were serviced in May.",
        "They run at night when power is cheap.",
    ]
    chunker = Chunker(token_counter, max_tokens=64, overlap_tokens=0, contextual_header=False)
    assert chunker.chunk(_document(page))[0].text == (
        "The pumps were serviced in May.\n\nThey run at night when power is cheap."
    )


# --- from blocks to chunks ------------------------------------------------------------------


def test_a_markdown_heading_longer_than_the_limit_is_clipped_in_the_heading_path(token_counter):
    title = "Pressure limits " + " and ".join(f"station {name}" for name in ("Hillcrest", "Lakeside", "Millrace") * 4)
    assert len(title) > HEADING_MAX_CHARS
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    chunk = chunker.chunk(_document(f"## {title}\nThe limits are checked every quarter."))[0]
    assert chunk.heading_path == (title[: HEADING_MAX_CHARS - 1] + "…",)
    assert len(chunk.heading_path[0]) == HEADING_MAX_CHARS


def test_the_overlap_repeats_the_previous_chunk_s_last_sentences_in_their_order(token_counter):
    paragraph = " ".join(f"Pump {index} runs." for index in range(60))
    chunker = Chunker(token_counter, max_tokens=48, overlap_tokens=16, contextual_header=False)
    chunks = chunker.chunk(_document(paragraph))
    assert len(chunks) > 2
    for previous, following in itertools.pairwise(chunks):
        before, after = split_sentences(previous.text), split_sentences(following.text)
        carried = [sentence for sentence in after if sentence in before]
        assert len(carried) >= 2, "the fixture must carry several sentences"
        assert after[: len(carried)] == carried
        assert before[-len(carried) :] == carried


def test_a_table_larger_than_a_chunk_is_split_between_rows(token_counter):
    rows = [f"Station {index:02d} {1000 + index * 37:,} {900 + index * 29:,}" for index in range(40)]
    chunker = Chunker(token_counter, max_tokens=64, overlap_tokens=0, contextual_header=False)
    chunks = chunker.chunk(_document("\n".join(rows)))
    assert len(chunks) > 2
    assert all(chunk.token_count <= 64 for chunk in chunks)
    assert [line for chunk in chunks for line in chunk.text.split("\n")] == rows


def test_the_overlap_shrinks_so_that_a_long_sentence_after_it_still_fits_the_chunk(token_counter):
    short = " ".join(f"Pump {index} runs." for index in range(12))  # 4 tokens a sentence: one full chunk
    long = (
        "The northern intake station was rebuilt in March with new filters, a second backup generator, "
        "two variable-speed drives and a remote alarm that calls the operator on duty."
    )
    assert token_counter.count(long) + 24 > 48  # the full overlap before it would overflow the chunk
    chunker = Chunker(token_counter, max_tokens=48, overlap_tokens=24, contextual_header=False)
    chunks = chunker.chunk(_document(f"{short}\n{long}"))
    assert [chunk.token_count <= 48 for chunk in chunks] == [True, True]
    before, after = split_sentences(chunks[0].text), split_sentences(chunks[1].text)
    assert after[-1] == long
    carried = after[:-1]
    assert carried and before[-len(carried) :] == carried  # still an overlap, as much of it as fits


def test_the_paragraphs_after_one_continued_from_the_previous_page_are_kept(token_counter):
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    chunks = chunker.chunk(
        _document("The relief valve opens when the", "pressure exceeds ten bar.\n\nThe gauge is read daily.")
    )
    assert [chunk.text for chunk in chunks] == [
        "The relief valve opens when the pressure exceeds ten bar.\n\nThe gauge is read daily."
    ]


def test_every_chunk_carries_its_document_s_date_for_the_date_filters(token_counter):
    document = _document("The pumps were serviced in May.", "They run at night when power is cheap.")
    dated = Document(**{**vars(document), "date": "2024-03-31"})
    chunker = Chunker(token_counter, max_tokens=12, overlap_tokens=0, contextual_header=False)
    chunks = chunker.chunk(dated)
    assert len(chunks) == 2
    assert [chunk.date for chunk in chunks] == ["2024-03-31", "2024-03-31"]


# --- column titles before a table -----------------------------------------------------------

TABLE_ROWS = "Millrace 3 48\nHillcrest 2 55"


def _kinds(text: str) -> list[tuple[BlockKind, str]]:
    return [(kind, block_text.splitlines()[0]) for kind, block_text, _ in _blocks(text)]


@pytest.mark.parametrize(
    "titles",
    [
        "Station Pumps In Service At Each Plant Site",  # a guessed heading of eight words
        "Station name and the pumps in service now",  # a short line of eight words, no final stop
    ],
)
def test_column_titles_of_eight_words_stay_with_their_table(titles):
    assert len(titles.split()) == 8
    assert _kinds(f"Stations lift water.\n{titles}\n{TABLE_ROWS}") == [
        (BlockKind.PARAGRAPH, "Stations lift water."),
        (BlockKind.TABLE, titles),
    ]


def test_a_line_of_nine_words_before_a_table_is_not_taken_for_its_column_titles():
    prose = "Station name and the pumps in service this year"
    guessed_heading = "Station Pumps In Service At Each Plant Site Today"
    assert len(prose.split()) == len(guessed_heading.split()) == 9
    assert _kinds(f"Stations lift water.\n{prose}\n{TABLE_ROWS}")[1] == (BlockKind.PARAGRAPH, prose)
    assert _kinds(f"Stations lift water.\n{guessed_heading}\n{TABLE_ROWS}")[1] == (BlockKind.HEADING, guessed_heading)


def test_a_numbered_heading_right_before_a_table_stays_a_heading():
    assert _kinds(f"Stations lift water.\n2 Pumping stations\n{TABLE_ROWS}") == [
        (BlockKind.PARAGRAPH, "Stations lift water."),
        (BlockKind.HEADING, "2 Pumping stations"),
        (BlockKind.TABLE, "Millrace 3 48"),
    ]


def test_a_heading_exactly_as_long_as_the_limit_is_not_clipped(token_counter):
    title = HEADING_OF_MAX_LENGTH
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    chunk = chunker.chunk(_document(f"## {title}\nThe limits are checked every quarter."))[0]
    assert chunk.heading_path == (title,)


def test_an_overlap_exactly_as_long_as_whole_sentences_carries_them_all(token_counter):
    sentence_tokens = token_counter.count("Pump 10 runs.")
    paragraph = " ".join(f"Pump {index} runs." for index in range(10, 70))
    assert {token_counter.count(f"Pump {index} runs.") for index in range(10, 70)} == {sentence_tokens}
    chunker = Chunker(token_counter, max_tokens=48, overlap_tokens=2 * sentence_tokens, contextual_header=False)
    chunks = chunker.chunk(_document(paragraph))
    assert len(chunks) > 2
    for previous, following in itertools.pairwise(chunks):
        assert split_sentences(following.text)[:2] == split_sentences(previous.text)[-2:]
        assert split_sentences(following.text)[2] not in split_sentences(previous.text)


def test_a_subsection_heading_ending_a_page_window_keeps_its_depth_in_the_next_window(token_counter):
    # The heading is the last block of page 1, so it crosses to page 2's window in the JSON state, unread.
    document = _document(
        "1 Pumping stations\nThe stations lift water to the reservoirs.\n1.1 Valve maintenance",
        "Valves are greased every week.",
    )
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    whole = chunker.chunk(document)
    assert whole[-1].heading_path == ("1 Pumping stations", "1.1 Valve maintenance")
    windowed = _windowed(chunker, document, window_pages=1)
    assert [(chunk.heading_path, chunk.text) for chunk in windowed] == [
        (chunk.heading_path, chunk.text) for chunk in whole
    ]


def test_without_the_contextual_header_the_model_reads_the_chunk_s_text_as_it_is(token_counter):
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    chunk = chunker.chunk(_document("1 Pumping stations\nThe stations lift water to the reservoirs."))[0]
    assert chunk.heading_path == ("1 Pumping stations",)
    assert chunk.embedding_text == chunk.text == "The stations lift water to the reservoirs."


def test_a_paragraph_exactly_filling_a_chunk_is_kept_whole_as_a_shorter_one_is(token_counter):
    # A paragraph that fits is one piece: the next chunk carries all of it as overlap or none, never its last
    # sentences alone.
    filling = " ".join(f"Pump {index} runs." for index in range(10, 22))
    following = "The valves are greased every week."
    max_tokens = token_counter.count(filling)
    assert token_counter.count(f"{filling}\n\n{following}") > max_tokens
    chunker = Chunker(token_counter, max_tokens=max_tokens, overlap_tokens=8, contextual_header=False)
    chunks = chunker.chunk(_document(f"{filling}\n\n{following}"))
    assert [chunk.text for chunk in chunks] == [filling, following]


# --- table rows, guessed headings and paragraph ends at their limits ------------------------


@pytest.mark.parametrize(
    ("line", "is_row"),
    [
        ("Costs 800 910.", True),  # three tokens: a short row, even with a stop after its last figure
        ("rose 15.9 to 16.2.", False),  # four tokens ending a sentence: prose with numbers
        ("Pumps 3 Valves 12", True),  # exactly half of the tokens are figures
        ("Operating income from continuing operations 1,200 1,350", True),  # a long label, two figures after it
        ("Operating income from continuing operations 1,200 rose", False),  # one figure at the end is not two
    ],
)
def test_table_rows_at_the_limits_of_the_rule(line, is_row):
    assert is_table_row(line) is is_row


def _first_kind(text: str) -> BlockKind:
    return _blocks(text)[0][0]


def test_a_guessed_heading_may_be_fifty_characters_long_and_no_longer():
    fifty = "Northern Pump Stations And Their Monthly Checklist"
    assert len(fifty) == HEADING_MAX_CHARS // 2
    assert _first_kind(f"{fifty}\nThe plant treats water every day.") is BlockKind.HEADING
    assert _first_kind(f"{fifty}s\nThe plant treats water every day.") is BlockKind.PARAGRAPH


@pytest.mark.parametrize(
    ("line", "is_heading"),
    [
        ("and Other Income Items", False),  # the lower-case end of a wrapped title, not a title
        ("Station pumps", False),  # half of the words capitalised is not title case
        ("Station pumps running", False),  # a third of them neither
        ("Schedule a Pump Service", True),  # a one-letter word among capitalised ones
    ],
)
def test_a_guessed_heading_is_in_title_case(line, is_heading):
    assert (_first_kind(f"{line}\nThe plant treats water every day.") is BlockKind.HEADING) is is_heading


def test_a_title_case_line_after_a_paragraph_running_on_into_lower_case_is_prose():
    # Whether the line is a heading depends on the line after it, not on the one before.
    assert _blocks("The pumps run.\nNorthern Pump Station\nis checked every quarter.") == [
        (BlockKind.PARAGRAPH, "The pumps run.", (1,)),
        (BlockKind.PARAGRAPH, "Northern Pump Station is checked every quarter.", (1,)),
    ]


def _page_of_full_lines(last_line: str, *, pad_to: int = 0) -> str:
    full = "The pumping station lifts water from the river every day and"  # 60 characters, a full line
    assert len(full) == 60
    lines = [full] * 9 + [last_line, "Valves are greased every week."]
    return "\n".join(line.ljust(pad_to) for line in lines)


def test_a_sentence_ending_at_85_percent_of_the_typical_width_is_a_full_line_not_a_paragraph_end():
    at_the_limit = "the filters are washed each night by the pump crew."  # 51 = 0.85 x 60 characters
    shorter = "the filters are washed at night by the pump crews."
    assert len(at_the_limit) == 51 and len(shorter) == 50
    assert len(_blocks(_page_of_full_lines(at_the_limit))) == 1
    assert len(_blocks(_page_of_full_lines(shorter))) == 2


def test_blanks_padding_the_lines_do_not_count_in_the_typical_width():
    # Some extractors pad every line to one width: a full line ending a sentence still continues its paragraph.
    assert len(_blocks(_page_of_full_lines("the filters are washed each night by the pump crew.", pad_to=80))) == 1


def test_an_indented_line_opening_a_sentence_starts_a_new_paragraph():
    assert _blocks("The pumps run at night.\n   The valves are greased every week.") == [
        (BlockKind.PARAGRAPH, "The pumps run at night.", (1,)),
        (BlockKind.PARAGRAPH, "The valves are greased every week.", (1,)),
    ]


def test_a_paragraph_cut_into_sentences_stays_a_separate_paragraph_from_the_one_before(token_counter):
    intro = "The plant has three pumps."
    long = " ".join(f"Pump {index} runs." for index in range(10, 40))
    chunker = Chunker(token_counter, max_tokens=48, overlap_tokens=0, contextual_header=False)
    assert token_counter.count(long) > 48  # cut into its sentences
    chunks = chunker.chunk(_document(f"{intro}\n\n{long}"))
    assert chunks[0].text.startswith(f"{intro}\n\nPump 10 runs. Pump 11 runs.")
    assert split_sentences(" ".join(chunk.text for chunk in chunks)) == [intro, *split_sentences(long)]


def test_a_sentence_a_little_longer_than_a_chunk_is_cut_in_two_and_keeps_every_character(token_counter):
    sentence = "Flows at the stations were " + ", ".join(f"{index}.{index % 7} MGD" for index in range(12, 40)) + "."
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    assert 128 < token_counter.count(sentence) <= 2 * 128
    chunks = chunker.chunk(_document(sentence))
    assert len(chunks) == 2
    assert all(chunk.token_count <= 128 for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks).replace(" ", "") == sentence.replace(" ", "")


def test_a_paragraph_continued_on_the_next_page_may_open_with_a_word_like_mrna():
    assert _blocks("The trial measured the response to the", "mRNA vaccines in older adults.") == [
        (BlockKind.PARAGRAPH, "The trial measured the response to the mRNA vaccines in older adults.", (1, 2))
    ]


def test_column_titles_joined_to_their_table_keep_the_table_s_page(token_counter):
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    intro = "The pumping stations lift water from the river every day and\nnight to the reservoirs."
    chunks = chunker.chunk(_document("The pumps.", f"{intro}\nStation Pumps\n{TABLE_ROWS}"))
    assert [(chunk.text, chunk.pages) for chunk in chunks] == [
        (f"The pumps.\n\n{intro.replace(chr(10), ' ')}\n\nStation Pumps\n{TABLE_ROWS}", (1, 2))
    ]


def test_a_paragraph_running_over_three_pages_is_one_paragraph_when_streamed(token_counter):
    document = _document("The relief valve opens when the", "pressure in the main line", "exceeds ten bar.\n\nThe end.")
    chunker = Chunker(token_counter, max_tokens=128, overlap_tokens=0, contextual_header=False)
    chunks = _windowed(chunker, document, window_pages=len(document.pages))  # one stream, fed page by page
    assert [chunk.text for chunk in chunks] == [
        "The relief valve opens when the pressure in the main line exceeds ten bar.\n\nThe end."
    ]
    assert chunks[0].pages == (1, 2, 3)
