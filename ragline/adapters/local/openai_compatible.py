"""A generator for any OpenAI-compatible chat endpoint: Ollama, vLLM, LM Studio, llama.cpp."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from ragline.errors import ModelUnavailableError
from ragline.model import Citation
from ragline.prompt import build_messages

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code in RETRYABLE_STATUS
    return isinstance(error, httpx.TransportError)


class OpenAICompatibleGenerator:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_seconds: float = 60.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout_seconds, headers=headers)

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    def generate(self, question: str, sources: Sequence[Citation]) -> str:
        return self.complete(build_messages(question, sources))

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's reply to chat messages: the answer prompt's, or a follow-up's rewrite (ragline.conversation)."""
        payload = {"model": self._model, "messages": messages, "temperature": 0}
        try:
            body = self._post(payload)
        except httpx.HTTPStatusError as error:
            raise ModelUnavailableError(
                f"{self._url} answered HTTP {error.response.status_code}: {error.response.text[:200]}"
            ) from error
        except httpx.TransportError as error:
            raise ModelUnavailableError(f"{self._url} could not be reached: {error}") from error
        try:
            return str(body["choices"][0]["message"]["content"]).strip()
        except (KeyError, IndexError, TypeError) as error:
            raise ModelUnavailableError(
                f"{self._url} returned no choices[0].message.content: {str(body)[:200]}"
            ) from error

    @retry(
        retry=retry_if_exception(_is_retryable),
        wait=wait_random_exponential(multiplier=0.5, max=8),
        stop=stop_after_attempt(4),
        reraise=True,
    )
    def _post(self, payload: dict) -> dict:
        response = self._client.post(self._url, json=payload)
        response.raise_for_status()
        return response.json()
