"""The window queue of `ragline.windows` on SQS: each next page window is one message.

The function that indexes a window consumes the same queue, so a window that fails is retried
alone by SQS, and a document's windows follow one another without anything waiting.
"""

from __future__ import annotations

from typing import Any

from ragline.windows import Window


class SqsWindowQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, window: Window) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=window.to_message())
