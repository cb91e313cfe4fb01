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


def test_the_estimate_of_english_prose_costs_at_most_half_of_a_window(token_counter):
    # An over-estimate makes chunks smaller than the model could take; for prose that loss stays under half.
    counter = ConservativeTokenCounter(512)
    for text in (TEXT, "Revenue grew 17.8% year over year.", "Industrial 4,210 3,985 5.6% Consumer 2,875 2,940 -2.2%"):
        assert token_counter.count(text) <= counter.count(text) <= 2 * token_counter.count(text), text


def test_a_long_text_is_cut_into_pieces_filled_up_to_the_limit():
    # "word" is estimated at 2 tokens, so 25 of them fill a 50-token piece exactly: 300 words make 12 pieces.
    pieces = ConservativeTokenCounter(512).split("word " * 300, 50)
    assert pieces == [" ".join(["word"] * 25)] * 12
