"""The EMF document of a query: what the dashboard charts, and what stays searchable in the logs only."""

from __future__ import annotations

import json

from ragline.adapters.aws.emf_metrics import EmfMetrics


def test_mode_and_hit_count_are_log_properties_of_the_document_not_metrics_or_dimensions(capsys):
    EmfMetrics(model="minilm", index="chunks").record_query(
        top_similarity=0.8, mean_similarity=0.5, hits=3, mode="hybrid"
    )
    (line,) = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    (definition,) = document["_aws"]["CloudWatchMetrics"]
    assert (document["mode"], document["hits"]) == ("hybrid", 3)
    assert {"mode", "hits"}.isdisjoint({metric["Name"] for metric in definition["Metrics"]})
    assert {"mode", "hits"}.isdisjoint(name for names in definition["Dimensions"] for name in names)
