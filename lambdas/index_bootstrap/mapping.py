"""The OpenSearch index that holds ragline's chunks: settings and mapping (fallback copy).

The runtime keeps the same module as `ragline.aws.opensearch_mapping`; the bootstrap handler
uses that one whenever the `ragline` package in the asset has it, so the index and the adapter
that writes to it cannot disagree. This copy only serves a `ragline` without the AWS adapters.

Shared by the bootstrap custom resource (which creates and updates the index) and, later, by the
runtime's OpenSearch adapter (which writes documents with exactly these fields). It imports
nothing but the standard library so it can move into `ragline/` unchanged.

Scores: with the lucene engine and `cosinesimil`, OpenSearch reports `(1 + cosine) / 2`;
`similarity_from_score` turns that back into the cosine similarity ragline reports everywhere.
"""

from __future__ import annotations

from typing import Any

VECTOR_FIELD = "vector"
TEXT_FIELD = "text"

# Fields a chunk document carries besides the vector; the runtime writes all of them.
METADATA_FIELDS: dict[str, dict[str, Any]] = {
    "chunk_id": {"type": "keyword"},
    "document_id": {"type": "keyword"},
    "source": {"type": "keyword"},
    "title": {"type": "text", "analyzer": "english", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
    "position": {"type": "integer"},
    "pages": {"type": "integer"},
    "page_start": {"type": "integer"},
    "page_end": {"type": "integer"},
    "heading_path": {"type": "keyword", "ignore_above": 1024},
    "tags": {"type": "keyword"},
    "date": {"type": "date", "format": "strict_date_optional_time||yyyy-MM-dd||epoch_millis"},
    "token_count": {"type": "integer"},
    # What the model read (title and headings + text): stored to rebuild the chunk, never searched.
    "embedding_text": {"type": "text", "index": False},
    "model": {"type": "keyword"},
    "indexed_at": {"type": "date"},
}

# What cannot change on an existing index: a different value needs a new index name.
IMMUTABLE_KEYS = ("dimension", "engine", "space_type")


def vector_field(*, dimension: int, engine: str, space_type: str, m: int, ef_construction: int) -> dict[str, Any]:
    return {
        "type": "knn_vector",
        "dimension": dimension,
        "method": {
            "name": "hnsw",
            "engine": engine,
            "space_type": space_type,
            "parameters": {"m": m, "ef_construction": ef_construction},
        },
    }


def index_mappings(*, dimension: int, engine: str, space_type: str, m: int, ef_construction: int) -> dict[str, Any]:
    return {
        "dynamic": "strict",  # a typo in the runtime fails loudly instead of growing the mapping
        "properties": {
            VECTOR_FIELD: vector_field(
                dimension=dimension, engine=engine, space_type=space_type, m=m, ef_construction=ef_construction
            ),
            # BM25 (the index default similarity) over English-analyzed text, as the local index does.
            TEXT_FIELD: {"type": "text", "analyzer": "english"},
            **METADATA_FIELDS,
        },
    }


def index_body(
    *,
    dimension: int,
    engine: str = "lucene",
    space_type: str = "cosinesimil",
    m: int = 16,
    ef_construction: int = 128,
    shards: int = 1,
    replicas: int = 0,
) -> dict[str, Any]:
    return {
        "settings": {
            "index": {
                "knn": True,
                "number_of_shards": shards,
                "number_of_replicas": replicas,
            }
        },
        "mappings": index_mappings(
            dimension=dimension, engine=engine, space_type=space_type, m=m, ef_construction=ef_construction
        ),
    }


def vector_settings(mappings: dict[str, Any]) -> dict[str, Any]:
    """dimension, engine and space type of an existing index's vector field."""
    vector = mappings.get("properties", {}).get(VECTOR_FIELD, {})
    method = vector.get("method", {})
    return {
        "dimension": vector.get("dimension"),
        "engine": method.get("engine"),
        "space_type": method.get("space_type"),
    }


def similarity_from_score(score: float, space_type: str = "cosinesimil") -> float:
    """Cosine similarity from an OpenSearch k-NN score (lucene/faiss score translations)."""
    if space_type == "cosinesimil":
        return 2.0 * score - 1.0
    if space_type == "innerproduct":  # unit vectors: inner product == cosine
        return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
    raise ValueError(f"no cosine similarity for space type {space_type}")
