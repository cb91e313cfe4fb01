"""A question longer than the remote model reads at once is embedded in full: cut into windows with the
embedder's token counter, none over the model's limit, pooled as one long input would be (the token-
count-weighted mean of un-normalized mean-pooled windows is the mean over all tokens)."""

from __future__ import annotations

import base64
import io
import json
import math
import random

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from moto.core.exceptions import JsonRESTError
from moto.sagemakerruntime.models import SageMakerRuntimeBackend

from ragline.adapters.aws.embeddings import BedrockEmbedder, SageMakerEmbedder
from ragline.adapters.aws.tokens import ConservativeTokenCounter
from ragline.api import QUESTION_MAX_CHARS
from tests.aws.api_events import api_event
from tests.aws.test_query_api import call

DIMENSION = 16
_SENTENCES = (
    "The pump station moved more water this quarter than in any quarter before it.",
    "Maintenance costs rose because two of the older impellers had to be replaced in March.",
    "Management expects the new variable-speed drives to lower the electricity bill next year.",
    "Revenue from the municipal contracts grew by eleven percent, while industrial sales were flat.",
    "What did the annual report say about the reliability of the northern intake and its backup power?",
)
# 2,000 characters of ordinary prose, the most a question may hold.
LONG_QUESTION = " ".join(_SENTENCES * 30)[:QUESTION_MAX_CHARS].rsplit(" ", 1)[0] + "?"


def _token_vector(piece: str) -> list[float]:
    generator = random.Random(piece.lower())
    return [generator.gauss(0.0, 1.0) for _ in range(DIMENSION)]


class MeanPoolingModel:
    """A model that mean-pools token vectors over what the token counter calls its tokens, refuses an
    input over its limit as TEI does with `truncate: false`, and normalizes only when asked."""

    def __init__(self, tokens, *, estimated: bool = False) -> None:
        self.tokens = tokens
        self.estimated = estimated  # the counter estimates: a piece it cannot cut counts as its estimate
        self.requests: list[dict] = []

    def pooled(self, text: str) -> list[float]:
        """The mean over the text's tokens, as the token counter cuts them."""
        pieces = self.tokens.split(text, 1)
        weights = self.tokens.count_many(pieces) if self.estimated else [1] * len(pieces)
        vectors = [_token_vector(piece) for piece in pieces]
        return [
            math.fsum(w * value for w, value in zip(weights, column, strict=True)) / sum(weights)
            for column in zip(*vectors, strict=True)
        ]

    def embed(self, texts: list[str], normalize: bool) -> list[list[float]]:
        for text in texts:
            if self.tokens.count(text) > self.tokens.max_tokens:
                raise JsonRESTError("ModelError", f"Input validation error: {self.tokens.count(text)} tokens")
        vectors = [self.pooled(text) for text in texts]
        return [_unit(vector) for vector in vectors] if normalize else vectors


def _unit(vector: list[float]) -> list[float]:
    norm = math.hypot(*vector)
    return [value / norm for value in vector]


@pytest.fixture
def sagemaker_model(aws, monkeypatch, token_counter) -> MeanPoolingModel:
    model = MeanPoolingModel(token_counter)

    def invoke_endpoint(backend: SageMakerRuntimeBackend, endpoint_name: str, unique_repr: bytes):
        request = json.loads(json.loads(base64.b64decode(unique_repr))["Body"])
        model.requests.append(request)
        body = json.dumps(model.embed(request["inputs"], request["normalize"]))
        return body, "application/json", "AllTraffic", None

    monkeypatch.setattr(SageMakerRuntimeBackend, "invoke_endpoint", invoke_endpoint)
    return model


def test_sagemaker_embeds_a_long_question_in_windows_pooled_as_one_input(sagemaker_model, token_counter):
    assert token_counter.count(LONG_QUESTION) > token_counter.max_tokens  # the case under test
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=token_counter, dimension=16)

    [vector] = embedder.embed([LONG_QUESTION])

    sent = [text for request in sagemaker_model.requests for text in request["inputs"]]
    assert len(sent) >= 2 and all(token_counter.count(text) <= token_counter.max_tokens for text in sent)
    assert all(request["normalize"] is False for request in sagemaker_model.requests)
    # The mean over all the question's tokens, as the model would pool it were it allowed to read it whole.
    assert vector == pytest.approx(_unit(sagemaker_model.pooled(LONG_QUESTION)), abs=1e-9)
    # Not the first window alone (truncation), nor the plain mean of the windows' directions.
    assert vector != pytest.approx(_unit(sagemaker_model.pooled(sent[0])), abs=1e-3)
    naive = _unit([sum(column) for column in zip(*(_unit(sagemaker_model.pooled(t)) for t in sent), strict=True)])
    assert vector != pytest.approx(naive, abs=1e-3)


def test_sagemaker_keeps_short_texts_in_one_normalized_request(sagemaker_model, token_counter):
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=token_counter, dimension=16)
    vectors = embedder.embed(["pumps move water", LONG_QUESTION, "impellers"])
    assert sagemaker_model.requests[0] == {
        "inputs": ["pumps move water", "impellers"],
        "normalize": True,
        "truncate": False,
    }
    assert vectors[0] == pytest.approx(_unit(sagemaker_model.pooled("pumps move water")))
    assert vectors[1] == pytest.approx(_unit(sagemaker_model.pooled(LONG_QUESTION)), abs=1e-9)


def test_bedrock_titan_embeds_a_long_question_in_windows_pooled_as_one_input():
    tokens = ConservativeTokenCounter(130)  # a small limit, so that 2,000 characters need windows
    model = MeanPoolingModel(tokens, estimated=True)
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")

    def invoke_model(params, **_):
        request = json.loads(params["body"])
        model.requests.append(request)
        [vector] = model.embed([request["inputText"]], request["normalize"])
        data = json.dumps({"embedding": vector}).encode()
        response = AWSResponse("https://bedrock-runtime.test", 200, {}, None)
        return response, {"body": StreamingBody(io.BytesIO(data), len(data)), "contentType": "application/json"}

    runtime.meta.events.register("before-call.bedrock-runtime.InvokeModel", invoke_model)
    embedder = BedrockEmbedder(runtime, "amazon.titan-embed-text-v2:0", tokens=tokens, dimension=DIMENSION)

    [vector] = embedder.embed([LONG_QUESTION])

    assert len(model.requests) >= 2
    assert all(tokens.count(request["inputText"]) <= tokens.max_tokens for request in model.requests)
    assert all(request["normalize"] is False for request in model.requests)
    assert vector == pytest.approx(_unit(model.pooled(LONG_QUESTION)), abs=1e-9)


def test_the_query_function_answers_a_question_of_2000_characters(bootstrapped, endpoint, monkeypatch, token_counter):
    """Through the query Lambda with the SageMaker embedder, against an endpoint that refuses over-long inputs."""
    answer = endpoint.answer

    def refusing_over_long_inputs(endpoint_name: str, request: dict):
        for text in request.get("inputs") or []:
            if token_counter.count(text) > token_counter.max_tokens:
                endpoint.calls.append({"endpoint": endpoint_name, "request": request})
                raise JsonRESTError("ModelError", "Input validation error: too many tokens")
        return answer(endpoint_name, request)

    monkeypatch.setattr(endpoint, "answer", refusing_over_long_inputs)
    bootstrapped.as_function("query")

    status, body = call(api_event({"question": LONG_QUESTION}))

    assert status == 200, body
    embedded = [text for c in endpoint.calls if "inputs" in c["request"] for text in c["request"]["inputs"]]
    assert len(embedded) >= 2 and all(token_counter.count(text) <= token_counter.max_tokens for text in embedded)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda vectors: [vectors[0], vectors[1][:-1], *vectors[2:]], "window vector 1 that is not 16 numbers"),
        (lambda vectors: [vectors[0][0], *vectors[1:]], "window vector 0 that is not 16 numbers"),
        (
            lambda vectors: [[str(value) for value in vectors[0]], *vectors[1:]],
            "window vector 0 that is not 16 numbers",
        ),
        # No window a list: no size to expect, and still a model error (not a StopIteration from the search).
        (lambda vectors: [vector[0] for vector in vectors], "window vector 0 that is not 0 numbers"),
        # Empty lists agree on a size of 0, which is no vector: their mean would be one too.
        (lambda vectors: [[] for _ in vectors], "window vector 0 that is not 0 numbers"),
    ],
    ids=[
        "the second window one number short",
        "the first window a bare number",
        "the first window's numbers as text",
        "every window a bare number",
        "every window an empty list",
    ],
)
def test_a_window_vector_that_is_not_a_list_of_numbers_is_a_model_error_not_a_wrong_mean(
    sagemaker_model, monkeypatch, token_counter, spoil, message
):
    from ragline.errors import ModelUnavailableError

    embed = sagemaker_model.embed
    monkeypatch.setattr(sagemaker_model, "embed", lambda texts, normalize: spoil(embed(texts, normalize)))
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=token_counter, batch_size=8)
    with pytest.raises(ModelUnavailableError) as raised:
        embedder.embed([LONG_QUESTION])
    assert str(raised.value) == f"sagemaker:embedder returned {message}"
