"""Search across languages on msmarco-ko: the same passages in Korean and in English, the same
questions asked in Korean and in English.

``msmarco_kor.json`` / ``msmarco_eng.json`` hold each question and its passages in both
languages under the same ids. Four directions: Korean and English questions over the Korean
passages (issue 13's measure: en->ko nDCG@10 >= 0.85 x ko->ko), and both over the English
passages (the reverse case: Korean questions over English manuals). Modes: keyword (Kiwi BM25);
``vector-main``, the embedding model alone; ``vector``, what search does (with the
cross-language bridge of ``knowledge.embedders.bridge`` weighed in when the main model's best
passage is in another script than the question); ``hybrid``, the product's fusion (query-length
weights, the cross-language rule of ``knowledge.fusion``) over keyword and ``vector``.

    uv run python benchmarks/bench_cross_lingual.py --max-queries 200 --max-passages 1500

Embeddings are cached under data/bench-cache/ (shared with bench_retrieval_quality.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_data
from aiharness.knowledge.analysis import get_analyzer, text_script
from aiharness.knowledge.embedders import Embedder, EmbedderSettings, create_embedder
from aiharness.knowledge.embedders.bridge import has_bridge, query_vector
from aiharness.knowledge.fusion import (
    CROSS_LANGUAGE_BRIDGE_WEIGHT,
    DEFAULT_CANDIDATES,
    DEFAULT_METHOD,
    DEFAULT_RRF_K,
    LANGUAGE_SAMPLE,
    cross_language_weights,
    is_cross_language,
    query_length_weights,
)
from bench_retrieval_quality import (
    ROOT,
    EmbeddingCache,
    ModeResult,
    embed_cached,
    hybrid_runs,
    keyword_mode,
    scores,
    vector_mode,
)


def bridged_vector(
    data: retrieval_data.RetrievalSet,
    embedder: Embedder,
    cache_dir: Path,
    main: ModeResult,
    weight: float,
) -> ModeResult:
    """What retrieval's vector side does: ``main``'s ranking, or, when its best passage is in
    another script than the question, a second ranking with the bridge weighed in."""
    if not has_bridge(embedder):
        return main
    model = embedder.name.replace(":", "_").replace("/", "_")
    texts = list(data.corpus.values())
    cache = EmbeddingCache(cache_dir / data.name / f"{model}-passage.npz")
    passages, _ = embed_cached(embedder, texts, cache, role="passage", batch=32, label=data.name)
    matrix = np.ascontiguousarray(passages, dtype=np.float32)
    ids = list(data.corpus)
    runs = dict(main.runs)
    for qid, text in data.queries.items():
        top = [data.corpus[p] for p, _ in main.runs[qid][:LANGUAGE_SAMPLE]]
        if not is_cross_language(text_script(text), [text_script(t) for t in top]):
            continue
        vector, scale = query_vector(embedder, text, weight)
        found = (matrix @ (vector / np.linalg.norm(vector))) * scale
        order = np.argsort(-found, kind="stable")[:DEFAULT_CANDIDATES]
        runs[qid] = [(ids[i], float(found[i])) for i in order]
    return ModeResult(runs, {}, main.index_s)


def run(
    data: retrieval_data.RetrievalSet, embedder: Embedder, cache_dir: Path, k: int
) -> dict[str, dict[str, float]]:
    keyword = keyword_mode(data, "kiwi", DEFAULT_CANDIDATES)
    main = vector_mode(data, embedder, cache_dir, DEFAULT_CANDIDATES, 0)
    vector = bridged_vector(data, embedder, cache_dir, main, CROSS_LANGUAGE_BRIDGE_WEIGHT)
    kiwi = get_analyzer("kiwi")
    n_terms = {q: len(set(kiwi.terms(text))) for q, text in data.queries.items()}
    scripts = {pid: text_script(text) for pid, text in data.corpus.items()}

    def product(qid: str) -> dict[str, float]:
        # What retrieval.search does: the vector side's top passages decide their language.
        top = [p for p, _ in vector.runs[qid][:LANGUAGE_SAMPLE]]
        return cross_language_weights(
            query_length_weights(n_terms[qid]),
            text_script(data.queries[qid]),
            [scripts[p] for p in top],
        )

    modes: dict[str, ModeResult] = {
        "bm25-kiwi": keyword,
        "vector-main": main,
        "vector": vector,
        "hybrid": hybrid_runs(keyword, vector, DEFAULT_METHOD, product, DEFAULT_RRF_K, k),
    }
    return {name: scores(result, data, k) for name, result in modes.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--max-queries", type=int, default=200)
    parser.add_argument("--max-passages", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "data" / "bench-cache")
    args = parser.parse_args(argv)
    try:
        korean = retrieval_data.subsample(
            retrieval_data.load("msmarco-ko"),
            max_queries=args.max_queries,
            max_passages=args.max_passages,
        )
        english_text = retrieval_data.english_queries()
        english_all = retrieval_data.english_passages()
    except retrieval_data.DatasetMissing as exc:
        print(f"skipping: {exc}")
        return 0
    korean_passages = korean.corpus
    english_corpus = {p: english_all[p] for p in korean.corpus if p in english_all}
    english_qrels = {
        q: {p: g for p, g in rel.items() if p in english_corpus} for q, rel in korean.qrels.items()
    }
    english_queries = {q: english_text[q] for q in korean.queries}
    # A question whose passages have no English version is left out of the English directions.
    judged = {q for q, rel in english_qrels.items() if rel}

    def direction(
        name: str, queries: dict[str, str], corpus: dict[str, str], qrels: dict[str, dict[str, int]]
    ) -> retrieval_data.RetrievalSet:
        # The cache is keyed by text, so each passage language keeps its own folder.
        return retrieval_data.RetrievalSet(name, "", corpus, queries, qrels)

    sets = {
        "ko->ko": direction("msmarco-ko", korean.queries, korean_passages, korean.qrels),
        "en->ko": direction("msmarco-ko", english_queries, korean_passages, korean.qrels),
        "en->en": direction(
            "msmarco-ko-en",
            {q: t for q, t in english_queries.items() if q in judged},
            english_corpus,
            {q: english_qrels[q] for q in judged},
        ),
        "ko->en": direction(
            "msmarco-ko-en",
            {q: t for q, t in korean.queries.items() if q in judged},
            english_corpus,
            {q: english_qrels[q] for q in judged},
        ),
    }
    print(
        f"msmarco-ko: {len(korean_passages)} Korean passages, {len(english_corpus)} of them "
        f"also in English, {len(korean.queries)} questions in both languages"
    )
    for note in korean.notes:
        print(f"  note: {note}")
    embedder = create_embedder(EmbedderSettings())
    embedder.warm_up()
    k = args.k
    results = {label: run(data, embedder, args.cache_dir, k) for label, data in sets.items()}
    print(f"\nCross-language retrieval (@{k}); embedding model: {embedder.name}")
    print(f"{'queries':<8} {'mode':<12} {'ndcg':>7} {'recall':>7} {'mrr':>7}")
    for label, by_mode in results.items():
        for mode, metrics in by_mode.items():
            print(
                f"{label:<8} {mode:<12} {metrics[f'ndcg@{k}']:>7.3f} "
                f"{metrics[f'recall@{k}']:>7.3f} {metrics[f'mrr@{k}']:>7.3f}"
            )
    print("\nnDCG ratio across / within one language (target >= 0.85 for hybrid, en->ko):")
    for across, within in (("en->ko", "ko->ko"), ("ko->en", "en->en")):
        for mode in results[within]:
            ref = results[within][mode][f"ndcg@{k}"]
            got = results[across][mode][f"ndcg@{k}"]
            print(f"  {across}/{within} {mode:<12} {got / ref if ref else 0.0:.3f}")
    embedder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
