"""The Generator port on Bedrock (Converse API) or on a SageMaker LLM endpoint.

Both send the prompt of `ragline.prompt`: the numbered sources fenced as data, and
a system message that forbids following instructions found inside them. Each also answers
any chat messages with `complete(messages)`, as the OpenAI-compatible generator does: that is
what `ragline.conversation.LlmRewriter` sends a follow-up's rewrite prompt through (its history
fenced as data the same way). Throttling is retried by botocore; what still fails is a
ModelUnavailableError naming the model and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ragline.errors import ModelUnavailableError
from ragline.model import Citation
from ragline.prompt import build_messages


def _reason(error: Exception) -> str:
    details = (getattr(error, "response", None) or {}).get("Error", {})
    return f"{details.get('Code', type(error).__name__)}: {details.get('Message', error)}"


class BedrockConverseGenerator:
    def __init__(self, runtime: Any, model_id: str, *, max_tokens: int = 512) -> None:
        self._runtime = runtime
        self._model_id = model_id
        self._max_tokens = max_tokens

    @property
    def name(self) -> str:
        return f"bedrock:{self._model_id}"

    def generate(self, question: str, sources: Sequence[Citation]) -> str:
        return self.complete(build_messages(question, sources))

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's reply to chat messages; system messages go in Converse's `system` field."""
        system = [{"text": message["content"]} for message in messages if message["role"] == "system"]
        turns = [
            {"role": message["role"], "content": [{"text": message["content"]}]}
            for message in messages
            if message["role"] != "system"
        ]
        try:
            response = self._runtime.converse(
                modelId=self._model_id,
                system=system,
                messages=turns,
                inferenceConfig={"maxTokens": self._max_tokens, "temperature": 0.0},
            )
        except Exception as error:
            raise ModelUnavailableError(f"Bedrock model {self._model_id}: {_reason(error)}") from error
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in content).strip()
        if not text:
            # A content filter, a guardrail or a spent token budget: the model's failure, which an empty answer
            # would pass off as the documents' silence ("not found").
            stop = response.get("stopReason", "not given")
            raise ModelUnavailableError(f"Bedrock model {self._model_id} returned no text (stop reason: {stop})")
        return text


class SageMakerLLMGenerator:
    """An LLM endpoint: `messages` = OpenAI-style chat (TGI >= 1.4, LMI/vLLM); `tgi` = raw prompt."""

    def __init__(self, runtime: Any, endpoint_name: str, *, payload_format: str = "messages", max_tokens: int = 512):
        if payload_format not in ("messages", "tgi"):
            raise ValueError(f"payload_format {payload_format!r} is not one of ['messages', 'tgi']")
        self._runtime = runtime
        self._endpoint = endpoint_name
        self._format = payload_format
        self._max_tokens = max_tokens

    @property
    def name(self) -> str:
        return f"sagemaker:{self._endpoint}"

    def generate(self, question: str, sources: Sequence[Citation]) -> str:
        return self.complete(build_messages(question, sources))

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The endpoint's reply to chat messages (joined into one prompt for the `tgi` format)."""
        try:
            response = self._runtime.invoke_endpoint(
                EndpointName=self._endpoint,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(self._request(messages)),
            )
        except Exception as error:
            raise ModelUnavailableError(f"SageMaker endpoint {self._endpoint}: {_reason(error)}") from error
        answer = self._answer(json.loads(response["Body"].read()))
        if not answer:  # as for Bedrock: the endpoint's failure, not the documents' silence
            raise ModelUnavailableError(f"SageMaker endpoint {self._endpoint} returned an empty answer")
        return answer

    def _request(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        if self._format == "messages":
            return {"messages": messages, "max_tokens": self._max_tokens, "temperature": 0}
        prompt = "\n\n".join(message["content"] for message in messages)
        return {
            "inputs": prompt,
            "parameters": {"max_new_tokens": self._max_tokens, "do_sample": False, "return_full_text": False},
        }

    def _answer(self, payload: Any) -> str:
        try:
            if self._format == "messages":
                return str(payload["choices"][0]["message"]["content"]).strip()
            first = payload[0] if isinstance(payload, list) else payload
            return str(first["generated_text"]).strip()
        except (KeyError, IndexError, TypeError) as error:
            raise ModelUnavailableError(f"SageMaker endpoint {self._endpoint} answered {str(payload)[:200]}") from error
