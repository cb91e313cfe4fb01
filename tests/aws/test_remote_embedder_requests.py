"""What the remote embedders ask SageMaker and Bedrock for: a declared vector size is taken as
given (no probe, asked of Titan v2), Titan v2 normalizes a text it reads whole, and Cohere takes
up to 96 texts per call and never truncates them. A text of exactly the model's limit is read whole; a
model's refusal, a lost connection or a wrong number of vectors is a ModelUnavailableError naming the model."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ragline.adapters.aws.embeddings import COHERE_MAX_TEXTS, BedrockEmbedder, SageMakerEmbedder
from ragline.adapters.aws.tokens import ConservativeTokenCounter
from ragline.errors import ModelUnavailableError
from tests.aws.fake_endpoint import BedrockDouble

TOKENS = ConservativeTokenCounter(256)


@pytest.fixture
def bedrock(endpoint) -> tuple[object, BedrockDouble]:
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    double = BedrockDouble(endpoint)
    double.attach(runtime)
    return runtime, double


def test_a_declared_dimension_is_taken_as_given_without_asking_the_endpoint(aws, endpoint):
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=TOKENS, dimension=384)
    assert embedder.dimension == 384
    assert endpoint.calls == []  # no probe: a cold start costs no model call


def test_an_undeclared_dimension_is_probed_once(aws, endpoint):
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=TOKENS)
    assert (embedder.dimension, embedder.dimension) == (384, 384)
    assert len(endpoint.calls) == 1


@pytest.mark.parametrize(
    "media_types",
    [
        {"ContentType": "text/csv", "Accept": "application/json"},
        {"ContentType": "application/json", "Accept": "text/csv"},
        {"Accept": "application/json"},  # botocore sends no Content-Type unless asked
    ],
    ids=["content-type", "accept", "no-content-type"],
)
def test_the_endpoint_double_refuses_a_media_type_other_than_json_as_a_container_does(aws, endpoint, media_types):
    # The double stands behind every SageMaker embedder test: it must refuse what a TEI container refuses,
    # or an embedder sending text/csv, or no media type at all, would pass them all.
    runtime = boto3.client("sagemaker-runtime")
    with pytest.raises(ClientError) as refusal:
        runtime.invoke_endpoint(EndpointName="embedder", Body=json.dumps({"inputs": ["pumps"]}), **media_types)
    assert refusal.value.response["Error"]["Code"] == "ModelError"
    assert refusal.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "(415)" in refusal.value.response["Error"]["Message"]
    answer = runtime.invoke_endpoint(
        EndpointName="embedder",
        Body=json.dumps({"inputs": ["pumps"]}),
        ContentType="Application/JSON; charset=utf-8",
        Accept="application/json",
    )
    assert len(json.loads(answer["Body"].read())["embeddings"][0]) == endpoint.dimension


def test_by_default_an_endpoint_is_sent_32_texts_per_call_tei_s_own_client_batch_limit(aws, endpoint):
    # TEI refuses a request of more inputs than its --max-client-batch-size, 32 unless the endpoint is told otherwise.
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=TOKENS, dimension=384)
    embedder.embed([f"pump {number}" for number in range(33)])
    assert [len(call["request"]["inputs"]) for call in endpoint.calls] == [32, 1]


def test_an_unknown_payload_format_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(ValueError) as refused:
        SageMakerEmbedder(object(), "embedder", tokens=TOKENS, payload_format="tgi")
    assert str(refused.value) == "payload_format 'tgi' is not one of ['hf-sentence-embeddings', 'jumpstart', 'tei']"


def test_titan_v2_is_asked_for_a_normalized_vector_of_the_declared_size(bedrock):
    runtime, double = bedrock
    embedder = BedrockEmbedder(runtime, "amazon.titan-embed-text-v2:0", tokens=TOKENS, dimension=384)
    embedder.embed(["pumps move water"])
    assert double.requests == [{"inputText": "pumps move water", "normalize": True, "dimensions": 384}]


def test_titan_v1_is_sent_the_text_alone(bedrock):
    runtime, double = bedrock
    BedrockEmbedder(runtime, "amazon.titan-embed-text-v1", tokens=TOKENS, dimension=384).embed(["pumps"])
    assert double.requests == [{"inputText": "pumps"}]  # v1 takes neither switch


def test_cohere_embeds_up_to_96_texts_per_call_and_never_truncates_them(bedrock):
    runtime, double = bedrock
    texts = [f"pump number {n}" for n in range(COHERE_MAX_TEXTS + 4)]
    vectors = BedrockEmbedder(runtime, "cohere.embed-english-v3", tokens=TOKENS).embed(texts)
    assert len(vectors) == len(texts)
    assert [len(request["texts"]) for request in double.requests] == [COHERE_MAX_TEXTS, 4]
    assert all(request["truncate"] == "NONE" for request in double.requests)
    assert all(request["input_type"] == "search_document" for request in double.requests)


def test_a_text_of_exactly_the_model_s_limit_is_read_whole_in_one_normalized_request(bedrock):
    runtime, double = bedrock
    text = " ".join(["oak"] * TOKENS.max_tokens)
    assert TOKENS.count(text) == TOKENS.max_tokens  # the case under test: at the limit, not over it
    BedrockEmbedder(runtime, "amazon.titan-embed-text-v2:0", tokens=TOKENS, dimension=384).embed([text])
    assert double.requests == [{"inputText": text, "normalize": True, "dimensions": 384}]


def _stubbed_bedrock() -> tuple[object, Stubber]:
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    return runtime, Stubber(runtime)


def test_a_model_bedrock_refuses_is_unavailable_with_its_id_and_bedrock_s_code_and_reason(aws):
    runtime, stubber = _stubbed_bedrock()
    stubber.add_client_error("invoke_model", "AccessDeniedException", "You don't have access to the model")
    embedder = BedrockEmbedder(runtime, "amazon.titan-embed-text-v2:0", tokens=TOKENS, dimension=384)
    with stubber, pytest.raises(ModelUnavailableError) as failure:
        embedder.embed(["pumps"])
    assert str(failure.value) == (
        "Bedrock model amazon.titan-embed-text-v2:0: AccessDeniedException: You don't have access to the model"
    )


def test_an_unreachable_model_is_unavailable_naming_the_kind_of_failure(aws):
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="https://bedrock-runtime.test")

    runtime.meta.events.register("before-call.bedrock-runtime.InvokeModel", unreachable)
    embedder = BedrockEmbedder(runtime, "amazon.titan-embed-text-v2:0", tokens=TOKENS, dimension=384)
    with pytest.raises(ModelUnavailableError) as failure:
        embedder.embed(["pumps"])
    assert str(failure.value) == (
        "Bedrock model amazon.titan-embed-text-v2:0: EndpointConnectionError: "
        'Could not connect to the endpoint URL: "https://bedrock-runtime.test"'
    )


def test_a_model_answering_fewer_vectors_than_texts_is_unavailable_with_both_counts(aws):
    runtime, stubber = _stubbed_bedrock()
    body = json.dumps({"embeddings": [[1.0, 0.0]], "id": "1"}).encode()
    stubber.add_response(
        "invoke_model", {"body": StreamingBody(io.BytesIO(body), len(body)), "contentType": "application/json"}
    )
    embedder = BedrockEmbedder(runtime, "cohere.embed-english-v3", tokens=TOKENS, dimension=2)
    with stubber, pytest.raises(ModelUnavailableError) as failure:
        embedder.embed(["pumps", "valves"])
    assert str(failure.value) == "cohere.embed-english-v3 returned 1 vectors for 2 texts"


def test_a_tei_endpoint_answering_a_vector_per_token_is_unavailable_saying_what_to_deploy(aws, endpoint, monkeypatch):
    monkeypatch.setattr(endpoint, "answer", lambda name, request: [[[1.0, 0.0], [0.0, 1.0]] for _ in request["inputs"]])
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "embedder", tokens=TOKENS, dimension=2)
    with pytest.raises(ModelUnavailableError) as failure:
        embedder.embed(["pumps"])
    assert str(failure.value) == (
        "the endpoint returned one vector per token, not per text: deploy TEI or a pooling model"
    )
