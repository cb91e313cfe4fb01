"""The model endpoint double: moto's SageMaker runtime answering like real containers.

moto returns a canned body for every `InvokeEndpoint`; this replaces its backend method so an
embedding endpoint answers deterministic bag-of-words vectors (the logic of
`tests.fakes.HashingEmbedder`) in the TEI or JumpStart JSON shape, and an LLM endpoint answers
an OpenAI-style chat completion that quotes and cites source [1]. Faults can be queued: an
error code (e.g. ThrottlingException) for the next N calls. Like a TEI, JumpStart or LLM container, it
takes and gives JSON only: another media type is the container's 415, which SageMaker passes on as a
ModelError.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

from moto.core.exceptions import JsonRESTError
from moto.sagemakerruntime.models import SageMakerRuntimeBackend
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from tests.fakes import HashingEmbedder

_FIRST_SOURCE = re.compile(r'<source id="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)


class _NoTokens:
    max_tokens = 10_000


@dataclass
class FakeEndpoint:
    dimension: int = 384
    errors: list[str] = field(default_factory=list)  # error codes for the next calls, in order
    calls: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._embedder = HashingEmbedder(_NoTokens(), dimension=self.dimension)  # type: ignore[arg-type]

    def answer(self, endpoint_name: str, request: dict) -> dict | list:
        self.calls.append({"endpoint": endpoint_name, "request": request})
        if self.errors:
            code = self.errors.pop(0)
            raise JsonRESTError(code, f"{code} raised by the fake endpoint")
        if "messages" in request:
            return self._chat(request["messages"])
        if isinstance(request.get("inputs"), str) and "parameters" in request:  # TGI's raw prompt
            reply = self._chat([{"role": "user", "content": request["inputs"]}])
            return [{"generated_text": reply["choices"][0]["message"]["content"]}]
        texts = request.get("inputs") or request.get("text_inputs")
        vectors = self._embedder.embed(texts).tolist()
        if "text_inputs" in request:  # JumpStart
            return {"embedding": vectors}
        return vectors if "truncate" in request else {"embeddings": vectors}  # TEI, else the HF inference DLC

    def _chat(self, messages: list[dict]) -> dict:
        match = _FIRST_SOURCE.search(messages[-1]["content"])
        sentence = match.group(1).split(". ")[0].strip() if match else "The documents do not say"
        return {"choices": [{"message": {"role": "assistant", "content": f"{sentence}. [1]"}}]}

    def install(self, monkeypatch) -> None:
        endpoint = self

        def invoke_endpoint(backend: SageMakerRuntimeBackend, endpoint_name: str, unique_repr: bytes):
            request = json.loads(json.loads(base64.b64decode(unique_repr))["Body"])
            body = json.dumps(endpoint.answer(endpoint_name, request))
            return body, "application/json", "AllTraffic", None

        monkeypatch.setattr(SageMakerRuntimeBackend, "invoke_endpoint", invoke_endpoint)
        # The backend sees Accept but not Content-Type, so the media types are checked on the HTTP request.
        answer_request = SageMakerRuntimeResponse.invoke_endpoint

        def invoke_endpoint_json_only(response: SageMakerRuntimeResponse):
            _refuse_other_media_types(response.headers)
            return answer_request(response)

        monkeypatch.setattr(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint_json_only)

    def embedding_calls(self) -> int:
        return sum(1 for call in self.calls if "messages" not in call["request"])


def _refuse_other_media_types(headers) -> None:
    """Media types are case-insensitive and may carry parameters (`; charset=utf-8`). A body sent without
    a Content-Type (botocore sends none unless asked) is refused too, as TEI's JSON extractor refuses it;
    an omitted Accept takes the container's default, JSON."""
    defaults = {"Content-Type": None, "Accept": "application/json"}
    for header, default in defaults.items():
        value = headers.get(header) or default
        if value is None or value.split(";")[0].strip().lower() != "application/json":
            message = f'Received client error (415) from primary with message "{header} {value} is not supported"'
            refusal = JsonRESTError("ModelError", message)
            refusal.code = 424  # SageMaker's status for an error the container answered
            raise refusal


class BedrockDouble:
    """Bedrock runtime answers (moto has no Bedrock runtime): the same model logic, attached to one client.

    It hooks botocore's `before-call` event, as botocore's Stubber does, but computes each
    answer from the request instead of replaying a fixed queue: Titan and Cohere embeddings,
    and Converse replies citing source [1].
    """

    def __init__(self, endpoint: FakeEndpoint) -> None:
        self.endpoint = endpoint
        self.requests: list[dict] = []

    def attach(self, client) -> None:
        client.meta.events.register("before-call.bedrock-runtime.InvokeModel", self._invoke_model)
        client.meta.events.register("before-call.bedrock-runtime.Converse", self._converse)

    @staticmethod
    def _http():
        from botocore.awsrequest import AWSResponse

        return AWSResponse("https://bedrock-runtime.test", 200, {}, None)

    def _invoke_model(self, params, **_):
        import io

        from botocore.response import StreamingBody

        refusal = self._media_type_refusal(params["headers"])
        if refusal:
            return refusal
        request = json.loads(params["body"])
        self.requests.append(request)
        texts = request["texts"] if "texts" in request else [request["inputText"]]
        vectors = self.endpoint.answer("bedrock", {"inputs": texts, "truncate": False})
        payload = {"embeddings": vectors, "id": "1"} if "texts" in request else {"embedding": vectors[0]}
        data = json.dumps(payload).encode()
        return self._http(), {"body": StreamingBody(io.BytesIO(data), len(data)), "contentType": "application/json"}

    @staticmethod
    def _media_type_refusal(headers):
        """Titan and Cohere take and give JSON only: Bedrock refuses another media type (media types are
        case-insensitive; an omitted header defaults to application/json)."""
        from botocore.awsrequest import AWSResponse

        for header in ("Content-Type", "Accept"):
            value = headers.get(header, "application/json")
            if value.lower() != "application/json":
                error = {"Code": "ValidationException", "Message": f"{header} {value} is not supported by this model"}
                return AWSResponse("https://bedrock-runtime.test", 400, {}, None), {"Error": error}
        return None

    def _converse(self, params, **_):
        request = json.loads(params["body"])  # before-call sees the serialized request
        self.requests.append(request)
        messages = [{"role": "user", "content": request["messages"][-1]["content"][0]["text"]}]
        text = self.endpoint.answer("converse", {"messages": messages})["choices"][0]["message"]["content"]
        output = {"message": {"role": "assistant", "content": [{"text": text}]}}
        return self._http(), {"output": output, "stopReason": "end_turn", "usage": {}}
