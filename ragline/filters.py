"""Metadata filters shared by every index adapter and by the query API.

A filter is data, not SQL: each index adapter translates it (to a SQL WHERE locally, to an
OpenSearch bool filter on AWS), so the same request means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ragline.cards import DOC_TYPES, normalize_type

#: Page numbers are bounded so that every accepted value fits the indexes' 64-bit integers (an
#: unbounded one raised OverflowError: a 500); no document comes near a million pages.
MAX_PAGE = 1_000_000
MAX_TAG_CHARS = 256

PERIOD_PATTERN = re.compile(r"^\d{4}(?:-(?:Q[1-4]|\d{2}(?:-\d{2})?))?$")

Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TAG_CHARS)]


class SearchFilter(BaseModel):
    """Restricts a search to chunks whose metadata match every given field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = Field(
        default=None,
        description="Exact source URI, or a glob with * (e.g. '*/annual-report*.pdf').",
        min_length=1,
        max_length=1024,
    )
    tags: tuple[Tag, ...] = Field(default=(), description="Chunks carrying any of these tags.", max_length=32)
    page_from: int | None = Field(default=None, ge=1, le=MAX_PAGE, description="Chunks spanning a page >= this one.")
    page_to: int | None = Field(default=None, ge=1, le=MAX_PAGE, description="Chunks spanning a page <= this one.")
    date_from: date | None = Field(default=None, description="Documents dated on or after this day.")
    date_to: date | None = Field(default=None, description="Documents dated on or before this day.")
    issuer: str | None = Field(
        default=None, min_length=1, max_length=200, description="Documents whose card's issuer contains this text."
    )
    period: str | None = Field(
        default=None, description="Documents whose card's period starts with this: 2023, 2023-03, 2023-03-31, 2023-Q1."
    )
    doc_type: str | None = Field(default=None, description=f"Documents of this type: {', '.join(DOC_TYPES)}.")

    @field_validator("period")
    @classmethod
    def _period_shape(cls, value: str | None) -> str | None:
        if value is not None and not PERIOD_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a year, month, day or quarter (2023, 2023-03, 2023-03-31, 2023-Q1)")
        return value

    @field_validator("doc_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        return None if value is None else normalize_type(value)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> SearchFilter:
        if self.page_from and self.page_to and self.page_from > self.page_to:
            raise ValueError(f"page_from ({self.page_from}) is after page_to ({self.page_to})")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        return self

    @property
    def is_empty(self) -> bool:
        return self == SearchFilter()


_EXPRESSION = re.compile(r"^\s*(source|tag|page|date|issuer|period|type)\s*(=|>=|<=)\s*(.+?)\s*$")
#: Filters on the document card (`ragline.cards`), by their CLI names.
_CARD_FIELDS = {"issuer": "issuer", "period": "period", "type": "doc_type"}


def parse_filter_expressions(expressions: list[str]) -> SearchFilter | None:
    """Parse CLI filters such as `source=*.pdf`, `tag=finance`, `page=3..5`, `date>=2024-01-01`, `issuer=amcor`,
    `period=2023`, `type=10-Q`.

    Raises ValueError naming the expression that could not be read.
    """
    if not expressions:
        return None
    fields: dict[str, object] = {}
    tags: list[str] = []
    for expression in expressions:
        match = _EXPRESSION.match(expression)
        if not match:
            raise ValueError(
                f"cannot read filter {expression!r}: expected source=GLOB, tag=NAME, page=N, "
                "page=N..M, page>=N, page<=N, date>=YYYY-MM-DD, date<=YYYY-MM-DD, issuer=TEXT, "
                "period=YYYY[-MM[-DD]] or type=10-K|10-Q|8-K|..."
            )
        name, operator, value = match.groups()
        if name in _CARD_FIELDS and operator != "=":
            raise ValueError(f"cannot read filter {expression!r}: {name} takes = only")
        if name in _CARD_FIELDS:
            fields[_CARD_FIELDS[name]] = value
        elif name == "source":
            fields["source"] = value
        elif name == "tag":
            tags.append(value)
        else:
            _parse_range(name, operator, value, fields)
    if tags:
        fields["tags"] = tuple(tags)
    return SearchFilter.model_validate(fields)


def _parse_range(name: str, operator: str, value: str, fields: dict[str, object]) -> None:
    low, high = f"{name}_from", f"{name}_to"
    if operator == ">=":
        fields[low] = value
    elif operator == "<=":
        fields[high] = value
    elif ".." in value:
        fields[low], fields[high] = (part.strip() or None for part in value.split("..", 1))
    else:
        fields[low] = fields[high] = value
