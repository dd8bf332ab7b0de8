"""The sentence-vector cache: same vectors as the wrapped embedder, each text embedded once, bounded."""
from __future__ import annotations

import numpy as np
import pytest

from rag.embed.embedder import CachedEmbedder

from fakes import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]


def test_cached_vectors_equal_the_wrapped_embedders():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    texts = ["Putin met Zhang Youxia.", "The meeting was televised.", "Putin met Zhang Youxia."]
    assert np.allclose(cached.embed_batch(texts), FakeEmbedder().embed_batch(texts))
    assert cached.model_id == inner.model_id and cached.max_tokens == inner.max_tokens


def test_each_text_is_embedded_once():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    cached.embed_batch(["a b", "c d", "a b"])
    cached.embed_batch(["c d", "e f"])
    assert inner.embedded == ["a b", "c d", "e f"]


def test_least_recently_used_texts_are_dropped_beyond_the_bound():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_items=2)
    cached.embed_batch(["one", "two"])
    cached.embed_batch(["one"])      # "two" is now the oldest
    cached.embed_batch(["three"])    # evicts "two"
    assert len(cached) == 2
    cached.embed_batch(["one", "two"])
    assert inner.embedded == ["one", "two", "three", "two"]


def test_empty_batch_has_the_right_shape():
    cached = CachedEmbedder(FakeEmbedder(dim=8))
    assert cached.embed_batch([]).shape == (0, 8)


def test_bound_must_be_positive():
    with pytest.raises(ValueError, match="max_items"):
        CachedEmbedder(FakeEmbedder(), max_items=0)
