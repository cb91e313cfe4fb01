from ragline.cleanup import find_running_furniture, join_broken_words, strip_page_furniture


def _page(number: int, body: str) -> str:
    return f"ACME Corp Annual Report 2024\n{body}\nConfidential draft\nPage {number} of 5"


def test_running_headers_footers_and_page_numbers_are_removed_body_kept():
    bodies = ["Pumps were serviced.", "Valves were checked.", "Filters were cleaned.", "Tanks were inspected.", "Done."]
    pages = [_page(number, body) for number, body in enumerate(bodies, start=1)]
    assert strip_page_furniture(pages) == bodies


def test_lines_that_share_a_shape_but_not_a_page_number_are_kept():
    growth = [12, 3, 47, 8, 25]
    pages = [_page(number, f"Revenue grew {rate}% this quarter.") for number, rate in enumerate(growth, start=1)]
    cleaned = strip_page_furniture(pages)
    assert cleaned == [f"Revenue grew {rate}% this quarter." for rate in growth]


def test_printed_page_numbers_offset_from_the_physical_page_are_furniture():
    pages = [f"Annual Report | {number + 10}\nBody {chr(65 + number)} text." for number in range(5)]
    assert strip_page_furniture(pages) == [f"Body {chr(65 + number)} text." for number in range(5)]


def test_a_line_repeated_in_the_middle_of_pages_is_not_furniture():
    body = "\n".join(f"line {index}" for index in range(10))
    pages = [f"Header\n{body}\nRepeated middle sentence.\n{body}\nFooter" for _ in range(4)]
    cleaned = strip_page_furniture(pages)
    assert all("Repeated middle sentence." in text for text in cleaned)
    assert all(not text.startswith("Header") for text in cleaned)


def test_single_page_documents_keep_their_edges():
    assert find_running_furniture(["Title\nBody"]) == set()
    assert strip_page_furniture(["Title\nBody."]) == ["Title\nBody."]


def test_bare_page_numbers_are_removed_even_when_not_repeated():
    assert strip_page_furniture(["Intro text.\n- 7 -"]) == ["Intro text."]


def test_pdfium_hyphen_marks_stay_hyphens_soft_hyphens_go_and_ligatures_expand():
    assert join_broken_words("forward\ufffelooking statements") == "forward-looking statements"
    assert join_broken_words("Non\ufffe\nGAAP") == "Non-GAAP"
    assert join_broken_words("the treat\u00ad\nment plant") == "the treatment plant"
    assert join_broken_words("main\u0002tenance") == "maintenance"
    assert join_broken_words("ﬁnal ﬂow") == "final flow"
    assert join_broken_words("well-known fact") == "well-known fact"
