"""What the remote embedders ask SageMaker and Bedrock for: a declared vector size is taken as
given (no probe, asked of Titan v2), Titan v2 normalizes a text it reads whole, and Cohere takes
up to 96 texts per call and never truncates them."""

from __future__ import annotations

import boto3
import pytest

from ragline.adapters.aws.embeddings import COHERE_MAX_TEXTS, BedrockEmbedder, SageMakerEmbedder
from ragline.adapters.aws.tokens import ConservativeTokenCounter
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
