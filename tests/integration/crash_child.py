"""Run in a child process by tests/integration/test_crashes.py: ingest a folder, with the fault
named by RAGLINE_FAULT armed (`<checkpoint>:exit` ends the process there with os._exit)."""

from __future__ import annotations

import sys
from pathlib import Path

from ragline.adapters.local.embedding import packaged_model_dir
from ragline.bootstrap import build_engine
from ragline.config import Settings
from ragline.tokens import WordPieceTokenCounter
from tests.fakes import HashingEmbedder


def main(data_dir: str, folder: str) -> None:
    tokens = WordPieceTokenCounter.for_model(packaged_model_dir())
    engine = build_engine(Settings(data_dir=Path(data_dir)), embedder=HashingEmbedder(tokens))
    engine.ingest([Path(folder)])
    engine.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
