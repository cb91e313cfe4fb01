"""The composition root builds only what a use case touches, and never falls back to laptop adapters on AWS."""

import pytest

from ragline.bootstrap import Services, World
from ragline.config import Settings
from ragline.errors import ConfigurationError


def aws_settings(**sections: dict) -> Settings:
    return Settings(**sections)


def test_on_aws_an_unset_backend_is_an_error_naming_its_variable():
    services = Services(aws_settings(index={"backend": "opensearch"}), world=World.AWS)
    with pytest.raises(ConfigurationError, match="RAGLINE_EMBEDDING__BACKEND is not set"):
        _ = services.embedder
    with pytest.raises(ConfigurationError, match="RAGLINE_EXTRACTION__BACKEND is not set"):
        _ = services.extractor


def test_on_aws_a_laptop_backend_is_refused_by_name():
    services = Services(aws_settings(embedding={"backend": "local"}, index={"backend": "sqlite"}), world=World.AWS)
    with pytest.raises(ConfigurationError, match=r"RAGLINE_EMBEDDING__BACKEND='local' does not run on aws"):
        _ = services.embedder
    with pytest.raises(ConfigurationError, match=r"RAGLINE_INDEX__BACKEND='sqlite' does not run on aws"):
        _ = services.registry


def test_an_unknown_backend_names_its_variable_and_the_choices():
    services = Services(aws_settings(archive={"backend": "kinesis"}))
    with pytest.raises(ConfigurationError, match=r"RAGLINE_ARCHIVE__BACKEND='kinesis' is unknown.*firehose"):
        _ = services.archive


def test_the_laptop_defaults_need_no_setting(tmp_path, hashing_embedder):
    services = Services(Settings(data_dir=tmp_path), embedder=hashing_embedder)
    assert services.registry.all() == []
    # Listing documents built the registry alone: no extractor, index, generator or archive.
    assert services.built() == ["embedder", "registry"]


def test_deleting_builds_no_extractor_embedder_or_archive(tmp_path, hashing_embedder):
    settings = Settings(data_dir=tmp_path, embedding={"dimension": hashing_embedder.dimension})
    services = Services(settings)
    assert services.ingestion.delete("/nowhere.pdf") == 0
    assert "embedder" not in services.built()
    assert services.built() == ["index", "ingestion", "registry"]
