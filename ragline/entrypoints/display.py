"""Helpers shared by the terminal commands (`ragline`, `ragline drift`)."""

from __future__ import annotations

import os


def short_names(sources: list[str]) -> tuple[str, list[str]]:
    """The folder all these local paths share, and each path relative to it: a terminal table has no
    room for absolute paths, and names alone would be ambiguous across folders. URIs stay whole."""
    local = [source for source in sources if source.startswith("/")]
    if not local:
        return "", sources
    folder = os.path.commonpath([os.path.dirname(source) for source in local])
    prefix = folder.rstrip("/") + "/"
    return folder, [source.removeprefix(prefix) if source.startswith(prefix) else source for source in sources]
