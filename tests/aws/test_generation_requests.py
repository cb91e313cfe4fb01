"""What the Bedrock and SageMaker LLM generators send, and how a failed call is reported.

The answer round trip is in the generator contract (`test_contracts.py`); here each request is
checked as botocore serializes it, since a model reads exactly that: the system prompt kept apart
from the turns, deterministic decoding, the token budget, and the JSON the container expects.
"""

from __future__ import annotations

import io
import json
import re

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ragline.adapters.aws.generation import BedrockConverseGenerator, SageMakerLLMGenerator
from ragline.errors import ModelUnavailableError
from ragline.prompt import SYSTEM_PROMPT, build_messages
from tests.contracts.generator_contract import sources

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
QUESTION = "What is the low-pressure alarm threshold at Hillcrest?"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def _user_prompt() -> str:
    (user,) = [message["content"] for message in build_messages(QUESTION, sources()) if message["role"] == "user"]
    return user


def _converse_reply(text: str) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 12},
    }


# --- Bedrock Converse ----------------------------------------------------------------------


def test_converse_gets_the_system_prompt_apart_one_user_turn_and_deterministic_decoding():
    runtime = boto3.client("bedrock-runtime")
    expected = {
        "modelId": MODEL,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": _user_prompt()}]}],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.0},
    }
    with Stubber(runtime) as stubber:
        stubber.add_response("converse", _converse_reply("  Below 55 psi [1].\n"), expected)
        answer = BedrockConverseGenerator(runtime, MODEL, max_tokens=200).generate(QUESTION, sources())
        stubber.assert_no_pending_responses()
    assert answer == "Below 55 psi [1]."


def test_converse_answer_joins_every_text_block_of_the_reply():
    runtime = boto3.client("bedrock-runtime")
    reply = _converse_reply("Below 55 psi")
    reply["output"]["message"]["content"].append({"text": " [1]."})
    with Stubber(runtime) as stubber:
        stubber.add_response("converse", reply)
        assert BedrockConverseGenerator(runtime, MODEL).generate(QUESTION, sources()) == "Below 55 psi [1]."


def test_a_reasoning_model_s_thinking_is_left_out_of_the_answer():
    # A reasoning model (DeepSeek-R1, Claude with extended thinking) puts its chain of thought in a
    # reasoningContent block before the text: the answer is the text alone.
    runtime = boto3.client("bedrock-runtime")
    reply = _converse_reply("Below 55 psi [1].")
    thinking = {"reasoningText": {"text": "The user asks for the alarm threshold; source 1 says", "signature": "sig"}}
    reply["output"]["message"]["content"].insert(0, {"reasoningContent": thinking})
    with Stubber(runtime) as stubber:
        stubber.add_response("converse", reply)
        assert BedrockConverseGenerator(runtime, MODEL).generate(QUESTION, sources()) == "Below 55 psi [1]."


def _refusal(client, operation: str, error: tuple[str, str, int], call) -> ModelUnavailableError:
    """What `call` raises when `operation` answers the service error (code, message, HTTP status)."""
    code, message, status = error
    with Stubber(client) as stubber:
        stubber.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=status)
        with pytest.raises(ModelUnavailableError) as raised:
            call()
    return raised.value


@pytest.mark.parametrize(
    ("code", "message", "botocore_raises"),
    [
        (
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
            "AccessDeniedException",
        ),
        # An expired credential is refused before the model is reached, with a code bedrock-runtime does not
        # model: botocore raises a plain ClientError, so the code the operator needs ("refresh the
        # credentials") is only in the response's Error, not in the exception's type.
        ("ExpiredTokenException", "The security token included in the request is expired", "ClientError"),
    ],
    ids=["modelled", "not-modelled"],
)
def test_a_refused_converse_call_names_the_model_the_error_code_and_bedrock_s_message(code, message, botocore_raises):
    runtime = boto3.client("bedrock-runtime")
    raised = _refusal(
        runtime,
        "converse",
        (code, message, 403),
        lambda: BedrockConverseGenerator(runtime, MODEL).generate(QUESTION, sources()),
    )
    assert type(raised.__cause__).__name__ == botocore_raises
    assert str(raised) == f"Bedrock model {MODEL}: {code}: {message}"


def test_an_unreachable_bedrock_endpoint_names_the_model_and_the_connection_error():
    runtime = boto3.client("bedrock-runtime", config=NO_RETRIES)
    url = "https://bedrock-runtime.us-east-1.amazonaws.com"

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url=url)

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", unreachable)
    with pytest.raises(ModelUnavailableError) as raised:
        BedrockConverseGenerator(runtime, MODEL).generate(QUESTION, sources())
    assert str(raised.value) == (
        f'Bedrock model {MODEL}: EndpointConnectionError: Could not connect to the endpoint URL: "{url}"'
    )


# --- SageMaker LLM endpoint ----------------------------------------------------------------


class LLMContainer:
    """A SageMaker LLM container behind a real client: records each InvokeEndpoint as botocore
    serialized it (headers, JSON body) and answers `reply`, as the Stubber would, at `before-call`."""

    def __init__(self, reply: object) -> None:
        self.reply = reply
        self.requests: list[dict] = []

    def client(self):
        runtime = boto3.client("sagemaker-runtime")
        runtime.meta.events.register("before-call.sagemaker-runtime.InvokeEndpoint", self._invoke)
        return runtime

    def _invoke(self, params, **_):
        self.requests.append({"headers": dict(params["headers"]), "body": json.loads(params["body"])})
        data = json.dumps(self.reply).encode()
        body = StreamingBody(io.BytesIO(data), len(data))
        return AWSResponse("https://runtime.sagemaker.test", 200, {}, None), {"Body": body}

    @property
    def body(self) -> dict:
        (request,) = self.requests
        return request["body"]


CHAT_REPLY = {"choices": [{"message": {"role": "assistant", "content": " Below 55 psi [1]. "}}]}


def test_the_endpoint_is_told_the_body_is_json_and_asked_for_json():
    container = LLMContainer(CHAT_REPLY)
    SageMakerLLMGenerator(container.client(), "generator").generate(QUESTION, sources())
    (request,) = container.requests
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Accept"] == "application/json"


def test_by_default_the_endpoint_gets_an_openai_style_chat_with_the_budget_and_no_sampling():
    container = LLMContainer(CHAT_REPLY)
    answer = SageMakerLLMGenerator(container.client(), "generator", max_tokens=64).generate(QUESTION, sources())
    assert container.body == {"messages": build_messages(QUESTION, sources()), "max_tokens": 64, "temperature": 0}
    assert answer == "Below 55 psi [1]."


def test_a_tgi_endpoint_gets_one_prompt_and_the_generate_parameters_without_the_prompt_echoed():
    container = LLMContainer([{"generated_text": " Below 55 psi [1].\n"}])
    generator = SageMakerLLMGenerator(container.client(), "generator", payload_format="tgi", max_tokens=64)
    answer = generator.generate(QUESTION, sources())
    assert container.body == {
        "inputs": f"{SYSTEM_PROMPT}\n\n{_user_prompt()}",
        "parameters": {"max_new_tokens": 64, "do_sample": False, "return_full_text": False},
    }
    assert answer == "Below 55 psi [1]."


def test_a_tgi_endpoint_answering_one_object_instead_of_a_list_is_read_too():
    # TGI answers a list of generations; some containers (an LMI/DJL endpoint with the TGI schema) answer one object.
    container = LLMContainer({"generated_text": " Below 55 psi [1].\n"})
    generator = SageMakerLLMGenerator(container.client(), "generator", payload_format="tgi")
    assert generator.generate(QUESTION, sources()) == "Below 55 psi [1]."


@pytest.mark.parametrize(
    ("payload_format", "reply"),
    [
        ("messages", {"error": "CUDA out of memory. " * 20}),  # a chat container's error, not a chat completion
        ("tgi", {"error": "Input validation error: `inputs` must have less than 4096 tokens. " * 5}),
    ],
)
def test_an_endpoint_answer_without_the_reply_quotes_its_first_200_characters(payload_format, reply):
    generator = SageMakerLLMGenerator(LLMContainer(reply).client(), "generator", payload_format=payload_format)
    with pytest.raises(ModelUnavailableError) as raised:
        generator.generate(QUESTION, sources())
    message = str(raised.value)
    assert message.startswith("SageMaker endpoint generator answered {'error': ")
    quoted = message.removeprefix("SageMaker endpoint generator answered ")
    assert len(quoted) == 200 and str(reply).startswith(quoted)  # a long error is cut, not dumped whole


def test_an_unknown_payload_format_is_refused_naming_it_and_the_choices():
    with pytest.raises(ValueError, match=re.escape("payload_format 'chat' is not one of ['messages', 'tgi']")):
        SageMakerLLMGenerator(boto3.client("sagemaker-runtime"), "generator", payload_format="chat")


def test_a_failing_endpoint_names_the_endpoint_the_error_code_and_the_message():
    runtime = boto3.client("sagemaker-runtime")
    raised = _refusal(
        runtime,
        "invoke_endpoint",
        ("ModelError", "Received server error (500) from primary", 424),
        lambda: SageMakerLLMGenerator(runtime, "generator").generate(QUESTION, sources()),
    )
    assert str(raised) == "SageMaker endpoint generator: ModelError: Received server error (500) from primary"


# --- an empty reply is the model's failure, never "the documents do not say" -----------------


def test_an_empty_converse_reply_is_a_model_failure_naming_the_model_and_bedrock_s_stop_reason():
    runtime = boto3.client("bedrock-runtime")
    reply = _converse_reply("")
    reply["output"]["message"]["content"] = []
    reply["stopReason"] = "content_filtered"
    with Stubber(runtime) as stubber:
        stubber.add_response("converse", reply)
        with pytest.raises(ModelUnavailableError) as raised:
            BedrockConverseGenerator(runtime, MODEL).generate(QUESTION, sources())
    assert str(raised.value) == f"Bedrock model {MODEL} returned no text (stop reason: content_filtered)"


@pytest.mark.parametrize(
    ("payload_format", "reply"),
    [
        ("messages", {"choices": [{"message": {"role": "assistant", "content": " \n "}}]}),
        ("tgi", [{"generated_text": ""}]),
    ],
)
def test_an_empty_endpoint_answer_is_a_model_failure_naming_the_endpoint(payload_format, reply):
    generator = SageMakerLLMGenerator(LLMContainer(reply).client(), "generator", payload_format=payload_format)
    with pytest.raises(ModelUnavailableError) as raised:
        generator.generate(QUESTION, sources())
    assert str(raised.value) == "SageMaker endpoint generator returned an empty answer"
