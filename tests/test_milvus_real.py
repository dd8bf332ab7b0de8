"""The real pipeline through Milvus: the bundled embedder, a real Milvus 2.3 server and a Milvus Lite 2.5 file (BM25
on the engine), the quality LLM; and Ray ingest.

Questions from the dev gold set (eval/gold/seeds.jsonl); asserted on cited articles and abstention, not wording.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import SEEDS, require_model

pytestmark = pytest.mark.real

XU, VITAL, PUTIN_2022 = "004_4f88f7a8625b6b03", "000_d9ac26facaa1f05c", "001_80ea79b3f3bb210f"


@pytest.fixture(scope="module", params=["milvus-2.3", "milvus-lite"])
def milvus_seeds(request, real_embedder):
    """seeds/ ingested with the real embedder into a collection of the 2.3 test server and into a Milvus Lite file,
    once for this module."""
    from rag.ingest.pipeline import ingest
    from rag.store.milvus.store import MilvusStore

    if request.param == "milvus-lite":
        uri = request.getfixturevalue("milvus_lite_file")("real_seeds")
    else:
        uri = request.getfixturevalue("milvus_server").uri("real_seeds")
    MilvusStore.drop(uri)
    report = ingest([SEEDS], uri, real_embedder)
    assert len(report.added) == 5, report.skipped
    return uri


@pytest.fixture(scope="module")
def engines(milvus_seeds, real_seeds_index, real_embedder):
    from rag import open_engine

    require_model("quality")
    return (open_engine(milvus_seeds, "quality", embedder=real_embedder),
            open_engine(real_seeds_index, "quality", embedder=real_embedder))


@pytest.mark.parametrize("qid, question, doc_id", [
    ("q48", "Who is Xu Qiliang?", XU),
    ("q01", 'Which outlet published the article "Putin Looks to China for Closer Military Collaboration"?', VITAL),
    ("q23", "According to Putin, Russia and China are both the key to maintaining what in a constantly changing "
            "global situation?", PUTIN_2022),
])
def test_milvus_answers_cite_the_right_article_as_faiss_does(engines, qid, question, doc_id):
    milvus, folder = engines
    answer = milvus.ask(question)
    assert not answer.abstained, (qid, answer.raw_text, answer.abstain_reason)
    assert doc_id in answer.cited_doc_ids, (qid, answer.text, answer.cited_doc_ids)
    cited = next(c for c in answer.citations if c.passage.doc_id == doc_id)
    assert cited.highlights and all(0 <= h.start < h.end <= len(cited.passage.document.text) for h in cited.highlights)
    same = folder.ask(question)  # the folder index: same passages, so the same greedy answer and citations
    assert [p.chunk.chunk_id for p in answer.passages] == [p.chunk.chunk_id for p in same.passages]
    assert (answer.text, answer.cited_doc_ids) == (same.text, same.cited_doc_ids)


def test_milvus_abstains_on_a_question_the_articles_do_not_answer(engines):
    answer = engines[0].ask("What is the population of Russia?")  # q78
    assert answer.abstained and answer.citations == () and answer.abstain_reason
    assert answer.passages, "the closest passages are still returned"


def test_cli_ask_through_milvus(milvus_seeds, capsys):
    import json

    from cli.main import main

    require_model("fast")
    assert main(["ask", "Who is Xu Qiliang?", "--index", milvus_seeds, "--model", "fast", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert XU in [c["doc_id"] for c in result["citations"]], result["answer"]


def test_ray_ingest_gives_the_plain_vectors(tmp_path, real_embedder, real_seeds_index):
    """Two articles embedded through Ray Data (a local Ray started for the run) match the plain ingest's vectors."""
    from rag.ingest.pipeline import ingest
    from rag.embed.ray_data import RayEmbedder
    from rag.store import open_store

    ray_embedder = RayEmbedder(real_embedder, actors=2, batch=4)
    try:
        report = ingest([SEEDS / f"{XU}.txt", SEEDS / f"{VITAL}.txt"], tmp_path / "ray", ray_embedder)
    finally:
        ray_embedder.close()
    assert sorted(report.added) == [VITAL, XU] and report.chunks_embedded > 2
    ray_store, plain = open_store(tmp_path / "ray"), open_store(real_seeds_index)
    ids = [c.chunk_id for d in (VITAL, XU) for c in ray_store.chunks_of(d)]
    assert ids == [c.chunk_id for d in (VITAL, XU) for c in plain.chunks_of(d)]
    np.testing.assert_allclose(ray_store.get_vectors(ids), plain.get_vectors(ids), atol=1e-5)
