"""Token counting with the embedding model's own tokenizer.

Chunks are sized in the model's tokens, never in characters: MiniLM silently truncates at 256
WordPiece tokens, and real passages average ~290 of them, so character-sized chunks lose text.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:  # imported when a tokenizer file is first read: a remote model may never need one
    from tokenizers import Tokenizer

# [CLS] and [SEP] are added to every input and count against the model's limit.
SPECIAL_TOKENS_PER_INPUT = 2
#: Tokens kept free in each window of an over-long text, by every embedder that windows one: re-tokenizing
#: a window cut at token boundaries can give a token or two more than the cut counted.
WINDOW_MARGIN = 8


class WordPieceTokenCounter:
    """Counts and splits text exactly as the embedding model's tokenizer sees it."""

    def __init__(self, tokenizer_file: Path, model_max_tokens: int) -> None:
        self._tokenizer_file = tokenizer_file
        self._model_max_tokens = model_max_tokens

    @classmethod
    def for_model(cls, model_dir: Path) -> Self:
        """The counter of a sentence-transformers model folder: its tokenizer, at its configured input limit."""
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        return cls(model_dir / "tokenizer.json", int(config["max_seq_length"]))

    @cached_property
    def _tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @property
    def max_tokens(self) -> int:
        """Tokens of text the model reads in one input, special tokens excluded."""
        return self._model_max_tokens - SPECIAL_TOKENS_PER_INPUT

    @cached_property
    def additive(self) -> bool:
        # BERT's normalizer works character by character, its pre-tokenizer cuts at every whitespace and
        # WordPiece reads each word alone: no token spans a whitespace, so a join's count is the sum of its parts'.
        # Byte-level BPE and SentencePiece fold the space into the next token and are left to count whole texts.
        from tokenizers import models, normalizers, pre_tokenizers

        tokenizer = self._tokenizer
        return (
            isinstance(tokenizer.model, models.WordPiece)
            and isinstance(tokenizer.pre_tokenizer, pre_tokenizers.BertPreTokenizer)
            and (tokenizer.normalizer is None or isinstance(tokenizer.normalizer, normalizers.BertNormalizer))
        )

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        # The fast batch skips the character offsets, which a count never reads (a tenth of chunking's tokenizing).
        encodings = self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cut `text` at token boundaries into pieces of at most `max_tokens` tokens.

        Used only for a single sentence longer than a chunk (a table row of numbers, a URL
        list): it keeps every character, where truncation would drop them.
        """
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        offsets = encoding.offsets
        pieces = []
        for start in range(0, len(offsets), max_tokens):
            window = offsets[start : start + max_tokens]
            begin = window[0][0] if start else 0
            end = offsets[start + max_tokens][0] if start + max_tokens < len(offsets) else len(text)
            piece = text[begin:end].strip()
            if piece:
                pieces.append(piece)
        return pieces
