"""The Embedder port on a SageMaker endpoint or on Bedrock: batched calls, unit-length vectors.

SageMaker containers differ in their JSON; `embedding.payload_format` names the container:

- `tei`: HuggingFace Text Embeddings Inference (TEI), the HF embedding DLC.
  Request `{"inputs": [t1, t2], "normalize": true, "truncate": false}`; response `[[...], [...]]`.
- `jumpstart`: JumpStart text-embedding models (all-MiniLM-L6-v2, GPT-J 6B embedding, BGE...).
  Request `{"text_inputs": [t1, t2]}`; response `{"embedding": [[...], [...]]}`.
- `hf-sentence-embeddings`: the HuggingFace inference toolkit DLC with `HF_TASK=sentence-embeddings`
  (sentence-transformers pooling). Request `{"inputs": [t1, t2]}`; response `{"embeddings": [[...], [...]]}`.
  It truncates over-long inputs at the model's limit: size chunks with the model's tokenizer.

Bedrock: Titan Text Embeddings (v1, v2) embed one text per call; Cohere Embed takes up to 96.
Inputs are never truncated by the model (`truncate: false` / `NONE`): the chunker sizes chunks
with the token counter in `tokens`, and a longer text (a question of up to 2,000 characters) is
embedded in full, in windows the model reads at once, pooled as `_RemoteEmbedder.embed` says.
Throttling is retried by botocore (see `ragline.adapters.aws.clients`).

Vectors are lists of floats, normalized in plain Python: the query function embeds one
question per call and ships no numpy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ragline.errors import ConfigurationError, ModelUnavailableError
from ragline.ports import TokenCounter
from ragline.tokens import WINDOW_MARGIN

COHERE_MAX_TEXTS = 96


@dataclass(frozen=True)
class PayloadFormat:
    request: Callable[[list[str], bool], dict[str, Any]]  # (texts, normalized)
    response: Callable[[Any], list[list[float]]]


def _tei_vectors(payload: Any) -> list[list[float]]:
    if payload and isinstance(payload[0], list) and payload[0] and isinstance(payload[0][0], list):
        raise ModelUnavailableError(
            "the endpoint returned one vector per token, not per text: deploy TEI or a pooling model"
        )
    return payload


PAYLOAD_FORMATS: dict[str, PayloadFormat] = {
    "tei": PayloadFormat(
        request=lambda texts, normalized: {"inputs": texts, "normalize": normalized, "truncate": False},
        response=_tei_vectors,
    ),
    "jumpstart": PayloadFormat(
        request=lambda texts, _: {"text_inputs": texts},  # no switch: vectors as the model gives them
        response=lambda payload: payload["embedding"],
    ),
    "hf-sentence-embeddings": PayloadFormat(
        request=lambda texts, _: {"inputs": texts},
        response=lambda payload: payload["embeddings"],
    ),
}


def unit_rows(vectors: Sequence[Sequence[float]], dimension: int | None, where: str) -> list[list[float]]:
    """Each vector divided by its length, once checked to hold `dimension` (or the first's) finite numbers."""
    rows: list[list[float]] = []
    for position, vector in enumerate(vectors):
        try:
            norm = math.hypot(*vector)
        except TypeError as error:  # a nested list (one vector per token), a string, a number
            raise ModelUnavailableError(f"{where} returned vector {position} that is not a list of numbers") from error
        expected = dimension if dimension is not None else len(rows[0]) if rows else len(vector)
        if len(vector) != expected:
            raise ModelUnavailableError(
                f"{where} returned vector {position} of {len(vector)} dimensions, expected {expected}"
            )
        if not math.isfinite(norm) or norm == 0:
            raise ModelUnavailableError(f"{where} returned vector {position} of length {norm}: not a direction")
        rows.append([value / norm for value in vector])
    return rows


def _client_error_reason(error: Exception) -> str:
    response = getattr(error, "response", {}) or {}
    details = response.get("Error", {})
    return f"{details.get('Code', type(error).__name__)}: {details.get('Message', error)}"


class _RemoteEmbedder:
    """Batching, probing and normalization shared by the remote embedders."""

    def __init__(self, *, tokens: TokenCounter, name: str, dimension: int | None, batch_size: int) -> None:
        self.tokens = tokens
        self._name = name
        self._declared_dimension = dimension
        self._batch_size = batch_size

    @property
    def model_name(self) -> str:
        return self._name

    @cached_property
    def dimension(self) -> int:
        if self._declared_dimension is not None:
            return self._declared_dimension
        return len(self._call(["dimension probe"])[0])  # one call, once per process

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text; a text over the model's limit is embedded in windows, never cut.

        The windows' vectors are combined as one long input would be mean-pooled: each window is
        asked for un-normalized (TEI `normalize: false`, Titan v2 `normalize: false`), and for a
        mean-pooling model that vector is the mean of the window's token vectors, so their mean
        weighted by each window's token count is the mean over all the text's tokens, then
        normalized like any other (each token attends only within its window: the one difference).
        Normalizing each window first would weigh a 10-token tail like a full window. Where the
        format has no such switch (JumpStart, the HF DLC, Titan v1, Cohere) the windows' vectors
        are whatever the model returns, often unit length: their weighted mean is then the mean
        direction, weighted by length, which is the closest those endpoints allow.
        """
        texts = list(texts)
        counts = self.tokens.count_many(texts) if texts else []
        long = {position for position, count in enumerate(counts) if count > self.tokens.max_tokens}
        short = [position for position in range(len(texts)) if position not in long]
        rows: list[Sequence[float]] = [[] for _ in texts]
        for position, vector in zip(
            short, self._embed_batched([texts[p] for p in short], normalized=True), strict=True
        ):
            rows[position] = vector
        for position in sorted(long):
            rows[position] = self._embed_long(texts[position])
        return unit_rows(rows, self._declared_dimension, self._name)

    def _embed_long(self, text: str) -> list[float]:
        windows = self.tokens.split(text, self.tokens.max_tokens - WINDOW_MARGIN)
        vectors = self._embed_batched(windows, normalized=False)
        return _weighted_mean(vectors, self.tokens.count_many(windows), self._name)

    def _embed_batched(self, texts: list[str], *, normalized: bool) -> list[list[float]]:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            vectors = self._call(batch, normalized=normalized)
            if len(vectors) != len(batch):
                raise ModelUnavailableError(f"{self._name} returned {len(vectors)} vectors for {len(batch)} texts")
            rows.extend(vectors)
        return rows

    def _call(self, texts: list[str], *, normalized: bool = True) -> list[list[float]]:
        raise NotImplementedError


def _weighted_mean(vectors: list[list[float]], weights: list[int], where: str) -> list[float]:
    """The mean of `vectors` weighted by `weights`, once each is checked to be a list of as many numbers."""
    # The size the first list among them has: a first window that is no list must not hide what was expected.
    dimension = next((len(vector) for vector in vectors if isinstance(vector, list)), 0)
    for position, vector in enumerate(vectors):
        numbers = isinstance(vector, list) and all(type(value) in (int, float) for value in vector)
        if not numbers or len(vector) != dimension or dimension == 0:
            raise ModelUnavailableError(f"{where} returned window vector {position} that is not {dimension} numbers")
    total = sum(weights)
    return [
        math.fsum(w * value for w, value in zip(weights, column, strict=True)) / total
        for column in zip(*vectors, strict=True)
    ]


class SageMakerEmbedder(_RemoteEmbedder):
    def __init__(
        self,
        runtime: Any,
        endpoint_name: str,
        *,
        tokens: TokenCounter,
        payload_format: str = "tei",
        model_name: str | None = None,
        dimension: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if payload_format not in PAYLOAD_FORMATS:
            raise ValueError(f"payload_format {payload_format!r} is not one of {sorted(PAYLOAD_FORMATS)}")
        super().__init__(
            tokens=tokens, name=model_name or f"sagemaker:{endpoint_name}", dimension=dimension, batch_size=batch_size
        )
        self._runtime = runtime
        self._endpoint = endpoint_name
        self._format = PAYLOAD_FORMATS[payload_format]

    def _call(self, texts: list[str], *, normalized: bool = True) -> list[list[float]]:
        try:
            response = self._runtime.invoke_endpoint(
                EndpointName=self._endpoint,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(self._format.request(texts, normalized)),
            )
        except Exception as error:  # botocore has already retried what was retryable
            raise ModelUnavailableError(
                f"SageMaker endpoint {self._endpoint}: {_client_error_reason(error)}"
            ) from error
        return self._format.response(json.loads(response["Body"].read()))


class BedrockEmbedder(_RemoteEmbedder):
    """Titan Text Embeddings (v1/v2) or Cohere Embed (v3) through `InvokeModel`."""

    def __init__(
        self,
        runtime: Any,
        model_id: str,
        *,
        tokens: TokenCounter,
        model_name: str | None = None,
        dimension: int | None = None,
    ) -> None:
        self._cohere = "cohere.embed" in model_id
        if not self._cohere and "titan-embed" not in model_id:
            raise ConfigurationError(
                f"embedding.model_id {model_id!r} is neither Titan Text Embeddings nor Cohere Embed on Bedrock"
            )
        batch_size = COHERE_MAX_TEXTS if self._cohere else 1
        super().__init__(tokens=tokens, name=model_name or model_id, dimension=dimension, batch_size=batch_size)
        self._runtime = runtime
        self._model_id = model_id

    def _request(self, texts: list[str], normalized: bool) -> dict[str, Any]:
        if self._cohere:
            # The port has no query/document distinction: documents and questions share one space.
            return {"texts": texts, "input_type": "search_document", "truncate": "NONE"}
        body: dict[str, Any] = {"inputText": texts[0]}
        if "text-v2" in self._model_id:
            body["normalize"] = normalized
            if self._declared_dimension:
                body["dimensions"] = self._declared_dimension
        return body

    def _call(self, texts: list[str], *, normalized: bool = True) -> list[list[float]]:
        try:
            response = self._runtime.invoke_model(
                modelId=self._model_id,
                contentType="application/json",
                accept="application/json",
                body=json.dumps(self._request(texts, normalized)),
            )
        except Exception as error:
            raise ModelUnavailableError(f"Bedrock model {self._model_id}: {_client_error_reason(error)}") from error
        payload = json.loads(response["body"].read())
        return payload["embeddings"] if self._cohere else [payload["embedding"]]
