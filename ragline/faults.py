"""Fault injection at write boundaries, so tests can prove what a crash at each one leaves behind.

Production code calls `checkpoint(name)` between writes; it does nothing unless a test armed
that name, with `arm()` in-process or with the `RAGLINE_FAULT` environment variable
(`<name>:raise` or `<name>:exit`) in a child process. An armed checkpoint fires once:
`raise` throws `InjectedCrash`, a BaseException so that no `except Exception` handler turns
the crash into a recorded failure; `exit` ends the process at once with `os._exit`, as a
kill would (no `finally`, no rollback, no flush).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Action = Literal["raise", "exit"]
ENVIRONMENT_VARIABLE = "RAGLINE_FAULT"
EXIT_CODE = 86

_armed: dict[str, tuple[Action, int]] = {}  # name -> (action, passes to let through first)
_recorder: list[str] | None = None


class InjectedCrash(BaseException):
    """Raised by an armed checkpoint."""


def _from_environment() -> None:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if value:
        name, _, action = value.rpartition(":")
        if action not in ("raise", "exit") or not name:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: expected <checkpoint>:raise or <checkpoint>:exit")
        _armed[name] = (action, 0)  # type: ignore[assignment]


def checkpoint(name: str) -> None:
    """A write boundary: crash here if a test armed it."""
    if _recorder is not None:
        _recorder.append(name)
    if name not in _armed:
        return
    action, skip = _armed.pop(name)
    if skip:
        _armed[name] = (action, skip - 1)
        return
    if action == "exit":
        os._exit(EXIT_CODE)
    if action == "raise":
        raise InjectedCrash(name)


def arm(name: str, action: Action = "raise", *, skip: int = 0) -> None:
    """Crash at the checkpoint `name` once it has been passed `skip` times."""
    _armed[name] = (action, skip)


def disarm() -> None:
    _armed.clear()


@contextmanager
def recording() -> Iterator[list[str]]:
    """The checkpoints passed inside the block, in order (how a test finds every boundary)."""
    global _recorder
    _recorder = []
    try:
        yield _recorder
    finally:
        _recorder = None


_from_environment()
