import numpy as np
import pytest

from ragline.adapters.local.embedding import cpu_has_bf16, packaged_model_dir
from tests.contracts.embedder_contract import EmbedderContract

#: bf16 runs only where the CPU has bfloat16 instructions; elsewhere it is refused by name (tested below, anywhere).
needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="the CPU has no bfloat16 instructions (AVX512_BF16, AMX)")


class TestMiniLMOnnx(EmbedderContract):
    @pytest.fixture
    def embedder(self, real_embedder):
        return real_embedder


PUMPS = " ".join(["Centrifugal pumps move water uphill through the treatment plant."] * 11)
BIRDS = " ".join(["Chickadees and wrens sing in the forest at dawn."] * 11)


def test_a_text_over_the_token_limit_is_embedded_in_full_not_truncated(real_embedder):
    """A long question (issue 13, problem 4) is cut into windows and pooled over all its tokens:
    its vector stands for its end as well as its start, where truncation would keep the start only."""
    long_text = f"{PUMPS} {BIRDS}"
    assert real_embedder.tokens.count(long_text) > real_embedder.tokens.max_tokens
    (vector,) = real_embedder.embed([long_text])
    pumps, birds = real_embedder.embed([PUMPS, BIRDS])
    assert float(pumps @ birds) < 0.2  # two topics apart
    assert float(vector @ pumps) > 0.5 and float(vector @ birds) > 0.5
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_long_and_short_texts_in_one_batch_keep_their_order(real_embedder):
    texts = ["pumps move water", f"{PUMPS} {BIRDS}", "wrens sing"]
    together = real_embedder.embed(texts)
    alone = np.vstack([real_embedder.embed([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_onnx_vectors_equal_the_reference_torch_model(real_embedder):
    torch = pytest.importorskip("torch", reason="the export extra (torch) is not installed")
    transformers = pytest.importorskip("transformers")
    texts = ["The treatment plant doubled its capacity.", "Net income rose 20% in fiscal 2025."]
    model_dir = str(packaged_model_dir())
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModel.from_pretrained(model_dir)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    reference = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    cosine = (reference * real_embedder.embed(texts)).sum(axis=1)
    assert np.all(cosine > 0.9999)


@pytest.fixture(scope="module")
def int8_embedder():
    from ragline.adapters.local.embedding import MiniLMOnnxEmbedder
    from ragline.config import Settings

    return MiniLMOnnxEmbedder(packaged_model_dir(), Settings().embedding.onnx_cache_dir, precision="int8")


class TestMiniLMOnnxInt8(EmbedderContract):
    @pytest.fixture
    def embedder(self, int8_embedder):
        return int8_embedder

    def test_int8_is_named_apart_and_stays_close_to_fp32(self, embedder, real_embedder):
        texts = ["The treatment plant doubled its capacity.", "Net income rose 20% in fiscal 2025."]
        assert embedder.model_name.endswith(":int8")
        assert np.all((embedder.embed(texts) * real_embedder.embed(texts)).sum(axis=1) > 0.98)


@pytest.fixture(scope="module")
def bf16_embedder():
    from ragline.adapters.local.embedding import MiniLMOnnxEmbedder
    from ragline.config import Settings

    return MiniLMOnnxEmbedder(packaged_model_dir(), Settings().embedding.onnx_cache_dir, precision="bf16")


@needs_bf16
class TestMiniLMOpenVinoBf16(EmbedderContract):
    @pytest.fixture
    def embedder(self, bf16_embedder):
        return bf16_embedder

    def test_bf16_is_named_apart_and_stays_far_closer_to_fp32_than_int8(self, embedder, real_embedder, int8_embedder):
        texts = [
            "The treatment plant doubled its capacity.",
            "Net income rose 20% in fiscal 2025.",
            f"{PUMPS} The plant's three pumps were replaced in 2024 at a cost of $4.2 million.",
        ]
        assert embedder.model_name.endswith(":bf16")
        fp32 = real_embedder.embed(texts)
        bf16_distance = 1 - (embedder.embed(texts) * fp32).sum(axis=1)
        int8_distance = 1 - (int8_embedder.embed(texts) * fp32).sum(axis=1)
        # bfloat16 keeps float32's range with 8 bits of mantissa, accumulating in float32: measured ~2e-5 here.
        assert np.all(bf16_distance < 1e-3)
        # ...but computed in bfloat16 indeed, not silently in float32 (whose vectors agree to ~1e-7).
        assert bf16_distance.max() > 1e-6
        assert bf16_distance.max() < int8_distance.min()


def test_bf16_on_a_cpu_without_bfloat16_instructions_is_refused_naming_the_setting(monkeypatch):
    openvino = pytest.importorskip("openvino")
    from ragline.adapters.local.embedding import MiniLMOnnxEmbedder
    from ragline.config import Settings
    from ragline.errors import ConfigurationError

    class CoreWithoutBf16:
        def get_property(self, device, name):
            assert (device, name) == ("CPU", "OPTIMIZATION_CAPABILITIES")
            return ["FP32", "INT8", "EXPORT_IMPORT"]

    monkeypatch.setattr(openvino, "Core", CoreWithoutBf16)
    embedder = MiniLMOnnxEmbedder(packaged_model_dir(), Settings().embedding.onnx_cache_dir, precision="bf16")
    with pytest.raises(ConfigurationError, match=r"embedding.precision bf16 needs .* fp32 or int8"):
        embedder.embed(["any text"])


NEIGHBOURS = [
    "Revenue fell.",
    f"{PUMPS} The plant's three pumps were replaced in 2024 at a cost of $4.2 million.",
    "Operating margin improved by 120 basis points on lower freight costs and a better product mix.",
]


@pytest.mark.parametrize("precision", ["fp32", "int8", pytest.param("bf16", marks=needs_bf16)])
def test_a_texts_vector_is_the_same_bits_whatever_it_is_embedded_with(precision, real_embedder, int8_embedder, request):
    """int8 scales activations by the input they see: a chunk's vector must not move with the other chunks of
    its call (that would be noise in the drift statistics), nor with the order or the number of threads."""
    from ragline.adapters.local.embedding import MiniLMOnnxEmbedder
    from ragline.config import Settings

    # The bf16 embedder only where it can be built: its fixture refuses a CPU without bfloat16 instructions.
    embedder = {"fp32": real_embedder, "int8": int8_embedder}.get(precision) or request.getfixturevalue("bf16_embedder")
    text = "Net income rose 20% in fiscal 2025 on higher volumes."
    (alone,) = embedder.embed([text])
    among_others = embedder.embed([*NEIGHBOURS, text])[-1]
    reversed_order = embedder.embed([text, *NEIGHBOURS[::-1]])[0]
    one_thread = MiniLMOnnxEmbedder(
        packaged_model_dir(), Settings().embedding.onnx_cache_dir, threads=1, precision=precision
    ).embed([*NEIGHBOURS, text])[-1]
    for vector in (among_others, reversed_order, one_thread):
        assert np.array_equal(vector, alone)


def test_identical_texts_are_run_through_the_model_once(real_embedder, monkeypatch):
    runs = []
    original = real_embedder._token_embeddings
    monkeypatch.setattr(real_embedder, "_token_embeddings", lambda ids: runs.append(ids) or original(ids))
    texts = ["boilerplate risk factor", "a distinct sentence", "boilerplate risk factor"]
    vectors = real_embedder.embed(texts)
    assert len(runs) == 2
    assert np.array_equal(vectors[0], vectors[2]) and not np.array_equal(vectors[0], vectors[1])
    assert np.array_equal(vectors[1], real_embedder.embed(["a distinct sentence"])[0])


def test_threads_below_zero_are_refused_naming_the_setting():
    from ragline.adapters.local.embedding import MiniLMOnnxEmbedder

    with pytest.raises(ValueError, match="threads"):
        MiniLMOnnxEmbedder(packaged_model_dir(), packaged_model_dir(), threads=-1)
