"""The EMF document of a query: what the dashboard charts, and what stays searchable in the logs only."""

from __future__ import annotations

import json

from ragline.adapters.aws.emf_metrics import EmfMetrics


def _documents(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_mode_and_hit_count_are_log_properties_of_the_document_not_metrics_or_dimensions(capsys):
    EmfMetrics(model="minilm", index="chunks").record_query(
        top_similarity=0.8, mean_similarity=0.5, hits=3, mode="hybrid"
    )
    (document,) = _documents(capsys)
    (definition,) = document["_aws"]["CloudWatchMetrics"]
    assert (document["mode"], document["hits"]) == ("hybrid", 3)
    assert {"mode", "hits"}.isdisjoint({metric["Name"] for metric in definition["Metrics"]})
    assert {"mode", "hits"}.isdisjoint(name for names in definition["Dimensions"] for name in names)


def test_each_query_s_document_holds_only_its_own_values_and_its_own_recorder_s_dimensions(capsys):
    pumps = EmfMetrics(model="minilm", index="pumps")
    birds = EmfMetrics(model="titan", index="birds", namespace="rag-birds")
    pumps.record_query(top_similarity=0.9, mean_similarity=0.7, hits=4, mode="dense")
    birds.record_query(top_similarity=0.4, mean_similarity=0.3, hits=1, mode="keyword")
    pumps.record_query(top_similarity=0.6, mean_similarity=0.2, hits=2, mode="hybrid")
    first, second, third = _documents(capsys)
    assert [
        (doc["model"], doc["index"], doc["similarity"], doc["hits"], doc["mode"]) for doc in (first, second, third)
    ] == [
        ("minilm", "pumps", [0.9], 4, "dense"),
        ("titan", "birds", [0.4], 1, "keyword"),
        ("minilm", "pumps", [0.6], 2, "hybrid"),
    ]
    assert [doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] for doc in (first, second, third)] == [
        "rag",
        "rag-birds",
        "rag",
    ]
