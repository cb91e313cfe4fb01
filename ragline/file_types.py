"""What a file's first bytes say it is, by one rule for every extractor.

The local extractor and Textract's pre-check share it, so that a file refused on AWS is refused on a
laptop too, and a file one of them accepts is one pdfium (the local reader) can open.
"""

from __future__ import annotations

PDF_MAGIC = b"%PDF-"
# PDF readers since Acrobat accept a header that starts anywhere up to byte 1,024, not only at byte 0
# (files with a few bytes of junk before it exist in the wild). pdfium reads a header starting at
# offset 1,024 and refuses one at 1,025; whitespace before it counts like any other byte.
PDF_HEADER_LAST_OFFSET = 1024
# Textract reads PNG, JPEG and TIFF images; an image decoder needs its header at byte 0.
IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
# How much of a file's start the checks below read: a caller streaming a file keeps this much of it.
HEAD_BYTES = PDF_HEADER_LAST_OFFSET + len(PDF_MAGIC)
# What a refused file lacks, said as the rule above says it (a header need not be at byte 0).
NO_PDF_HEADER = f"no {PDF_MAGIC.decode()} header starts in the file's first {PDF_HEADER_LAST_OFFSET + 1:,} bytes"
NO_IMAGE_HEADER = "no PNG, JPEG or TIFF header at its start"


def has_pdf_header(head: bytes) -> bool:
    """Whether `%PDF-` starts within the first 1,025 bytes, where a PDF reader looks for it."""
    return PDF_MAGIC in head[:HEAD_BYTES]


def has_image_header(head: bytes) -> bool:
    """Whether the file starts as a PNG, JPEG or TIFF image does."""
    return head.startswith(IMAGE_MAGICS)
