"""`--chunking` for ablations: a setting on trial reaches the engine's settings, and a mistyped one stops the run
before any work, naming what is wrong."""

from __future__ import annotations

import pytest

from bench.common import chunking_overrides
from bench.financebench import bench_settings


def test_settings_on_trial_are_read_as_json_and_reach_the_benchmark_settings(tmp_path, monkeypatch):
    overrides = chunking_overrides("contextual_header=false, overlap_tokens=0")
    assert overrides == {"contextual_header": False, "overlap_tokens": 0}
    # The benchmark clears RAGLINE_* variables, so an override is the only way a setting moves a result.
    monkeypatch.setenv("RAGLINE_CHUNKING__MAX_TOKENS", "100")
    chunking = bench_settings(tmp_path, "fp32", chunking=overrides).chunking
    assert (chunking.contextual_header, chunking.overlap_tokens, chunking.max_tokens) == (False, 0, 200)


def test_no_spec_is_no_override():
    assert chunking_overrides(None) == {} == chunking_overrides("")


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("header=false", "'header=false'"),
        ("contextual_header", "'contextual_header'"),
        ("overlap_tokens=forty", "overlap_tokens"),
        ("overlap_tokens=150", "overlap_tokens (150)"),  # the engine's own refusal: over half of max_tokens
    ],
)
def test_a_mistyped_setting_is_refused_naming_it(spec, named):
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        chunking_overrides(spec)
