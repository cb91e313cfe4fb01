from pathlib import Path

import pytest
from pydantic import ValidationError

from ragline.config import SearchMode, Settings, load_settings


def test_defaults_are_the_embedded_mode(settings):
    assert settings.embedding.backend == "local"
    assert settings.index.backend == "sqlite"
    assert settings.generation.backend == "extractive"
    assert settings.archive.backend == "local"


def test_environment_overrides_nested_fields(settings, monkeypatch):
    monkeypatch.setenv("RAGLINE_RETRIEVAL__MODE", "dense")
    monkeypatch.setenv("RAGLINE_CHUNKING__MAX_TOKENS", "128")
    loaded = load_settings()
    assert loaded.retrieval.mode is SearchMode.DENSE
    assert loaded.chunking.max_tokens == 128


def test_toml_file_is_read_and_environment_wins(settings, tmp_path, monkeypatch):
    config = tmp_path / "custom.toml"
    config.write_text('data_dir = "/srv/ragline"\n[retrieval]\nk = 9\nmode = "keyword"\n')
    monkeypatch.setenv("RAGLINE_CONFIG", str(config))
    monkeypatch.setenv("RAGLINE_RETRIEVAL__K", "3")
    loaded = load_settings()
    assert loaded.data_dir == Path("/srv/ragline")
    assert loaded.retrieval.mode is SearchMode.KEYWORD
    assert loaded.retrieval.k == 3


def test_a_named_config_file_that_is_missing_is_an_error(settings, monkeypatch):
    monkeypatch.setenv("RAGLINE_CONFIG", "/nonexistent/ragline.toml")
    with pytest.raises(FileNotFoundError, match=r"/nonexistent/ragline\.toml"):
        load_settings()


def test_overlap_must_leave_room_for_new_text():
    with pytest.raises(ValidationError, match="overlap_tokens"):
        Settings(chunking={"max_tokens": 100, "overlap_tokens": 60})


@pytest.mark.parametrize(
    "half",
    [
        {"textract_topic_arn": "arn:aws:sns:us-east-1:123456789012:textract"},
        {"textract_role_arn": "arn:aws:iam::123456789012:role/textract"},
    ],
    ids=["topic-alone", "role-alone"],
)
def test_half_a_textract_notification_channel_is_refused_naming_both_settings(half):
    with pytest.raises(ValidationError) as refused:
        Settings(extraction={"backend": "textract", **half})
    (error,) = refused.value.errors()
    assert error["loc"] == ("extraction",)
    assert "textract_topic_arn and textract_role_arn go together" in error["msg"]


def test_unknown_settings_are_refused():
    with pytest.raises(ValidationError, match="retreival"):
        Settings(retreival={"k": 3})
