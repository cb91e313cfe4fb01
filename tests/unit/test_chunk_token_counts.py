"""A chunk's token count is exactly what the model reads, whether the chunker adds its pieces' counts or
tokenizes each chunk again (issue 15: the second count was about a third of chunking's CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from ragline.adapters.aws.tokens import ConservativeTokenCounter
from ragline.chunking import Chunker
from ragline.model import Document, Page
from ragline.tokens import WordPieceTokenCounter

# Text that a careless sum would miscount: accents folded by the normalizer, CJK split per character, a
# word over WordPiece's 100-character limit (one [UNK]), a table of numbers, a URL, a control character.
HARD_PAGE = "\n".join(
    [
        "Item 7. Management’s Discussion and Analysis",
        " ".join(
            f"Résumé {i}: naïve café façade, 東京 支店 {i}, revenue rose 12.5% to ${i},234.5 million."
            for i in range(30)
        ),
        "Revenue | 2022 | 2021\nProducts | 1,234.5 | 1,100.2\nServices | 99.0 | 87.3",
        "See https://www.example.com/investors/annual-report-2022.pdf?page=12#notes for details\x07.",
        "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3 + " follows a word longer than WordPiece reads.",
        " ".join(f"Sentence {i} says the pump keeps the pressure above the limit of {i} bar." for i in range(40)),
    ]
)


def _document() -> Document:
    return Document(
        id="d" * 64,
        source="/docs/filing.pdf",
        title="Société Générale 10-K",
        pages=(Page(number=1, text=HARD_PAGE), Page(number=2, text=HARD_PAGE)),
    )


@pytest.fixture(scope="module")
def byte_level_tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GPT-style byte-level BPE, trained here: it folds each space into the next token."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([HARD_PAGE] * 3, trainer=trainer)
    path = tmp_path_factory.mktemp("bpe") / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def test_the_packaged_wordpiece_counts_joins_as_sums(token_counter):
    assert token_counter.additive
    parts = ["Résumé 東京", "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3, "1,234.5 | 99.0"]
    for joiner in (" ", "\n", "\n\n"):
        assert token_counter.count(joiner.join(parts)) == sum(token_counter.count_many(parts))


def test_a_byte_level_tokenizer_is_not_taken_for_additive(byte_level_tokenizer_file):
    counter = WordPieceTokenCounter(byte_level_tokenizer_file, 256)
    assert not counter.additive
    # Why it must not be: joined, the space goes into the next token, so the sum is wrong.
    parts = ["revenue rose", "to million"]
    assert counter.count(" ".join(parts)) != sum(counter.count_many(parts))


@pytest.mark.parametrize("contextual_header", [True, False])
@pytest.mark.parametrize("counter_kind", ["wordpiece", "byte_level", "conservative"])
def test_every_chunk_counts_exactly_what_the_model_reads(
    counter_kind, contextual_header, token_counter, byte_level_tokenizer_file
):
    counter = {
        "wordpiece": token_counter,
        "byte_level": WordPieceTokenCounter(byte_level_tokenizer_file, 256),
        "conservative": ConservativeTokenCounter(256),
    }[counter_kind]
    chunker = Chunker(counter, max_tokens=64, overlap_tokens=20, contextual_header=contextual_header)
    chunks = chunker.chunk(_document())
    assert len(chunks) > 10
    for chunk in chunks:
        assert chunk.token_count == counter.count(chunk.embedding_text), chunk.embedding_text


def test_the_header_is_left_room_for(token_counter):
    chunks = Chunker(token_counter, max_tokens=64, overlap_tokens=20, contextual_header=True).chunk(_document())
    assert max(chunk.token_count for chunk in chunks) <= 64
    assert max(chunk.token_count for chunk in chunks) > 48  # full chunks, not a budget cut for nothing


class _Recorder:
    """The packaged counter, recording every text it is asked to count in a batch."""

    def __init__(self, counter: WordPieceTokenCounter) -> None:
        self._counter = counter
        self.batched: list[str] = []
        self.max_tokens = counter.max_tokens
        self.additive = counter.additive
        self.count, self.split = counter.count, counter.split

    def count_many(self, texts: list[str]) -> list[int]:
        self.batched.extend(texts)
        return self._counter.count_many(texts)


def test_an_additive_counter_is_not_asked_to_count_a_chunk_again(token_counter):
    recorder = _Recorder(token_counter)
    chunks = Chunker(recorder, max_tokens=64, overlap_tokens=20, contextual_header=True).chunk(_document())
    assert not {chunk.embedding_text for chunk in chunks} & set(recorder.batched)


def test_a_counter_that_is_not_additive_counts_every_chunk(token_counter):
    recorder = _Recorder(token_counter)
    recorder.additive = False
    chunks = Chunker(recorder, max_tokens=64, overlap_tokens=20, contextual_header=True).chunk(_document())
    assert {chunk.embedding_text for chunk in chunks} <= set(recorder.batched)
