"""Metadata filters shared by every index adapter and by the query API.

A filter is data, not SQL: each index adapter translates it (to a SQL WHERE locally, to an
OpenSearch bool filter on AWS), so the same request means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

#: Page numbers are bounded so that every accepted value fits the indexes' 64-bit integers (an
#: unbounded one raised OverflowError: a 500); no document comes near a million pages.
MAX_PAGE = 1_000_000
MAX_TAG_CHARS = 256

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


_EXPRESSION = re.compile(r"^\s*(source|tag|page|date)\s*(=|>=|<=)\s*(.+?)\s*$")


def parse_filter_expressions(expressions: list[str]) -> SearchFilter | None:
    """Parse CLI filters such as `source=*.pdf`, `tag=finance`, `page=3..5`, `date>=2024-01-01`.

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
                "page=N..M, page>=N, page<=N, date>=YYYY-MM-DD or date<=YYYY-MM-DD"
            )
        name, operator, value = match.groups()
        if name == "source":
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
