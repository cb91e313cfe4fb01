"""The token counter chosen for a remote embedding model: exact with its tokenizer file, else an over-estimate."""

from __future__ import annotations

from ragline.adapters.aws.tokens import ConservativeTokenCounter, token_counter_for
from ragline.adapters.local.embedding import packaged_model_dir
from ragline.config import EmbeddingSettings
from ragline.tokens import SPECIAL_TOKENS_PER_INPUT

TEXT = "The Hillcrest pump station raises a low-pressure alarm below 55 psi."


def test_with_the_tokenizer_file_tokens_are_counted_exactly_under_the_model_s_own_limit(token_counter):
    settings = EmbeddingSettings(tokenizer_file=packaged_model_dir() / "tokenizer.json", max_input_tokens=512)
    counter = token_counter_for(settings)
    assert counter.count(TEXT) == token_counter.count(TEXT)
    assert counter.max_tokens == 512 - SPECIAL_TOKENS_PER_INPUT


def test_without_a_tokenizer_file_the_estimate_never_undercounts_and_keeps_the_limit(token_counter):
    counter = token_counter_for(EmbeddingSettings(max_input_tokens=512))
    assert isinstance(counter, ConservativeTokenCounter)
    assert counter.count(TEXT) >= token_counter.count(TEXT)
    assert counter.max_tokens == 512 - SPECIAL_TOKENS_PER_INPUT
