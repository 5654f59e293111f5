"""Search across languages on msmarco-ko: Korean passages, asked in Korean and in English.

The same query ids in both languages (``msmarco_kor.json`` / ``msmarco_eng.json``) against the
same Korean passages. Prints nDCG@10, Recall@10 and MRR@10 for keyword (Kiwi BM25), vector and
hybrid, where hybrid is the product's fusion: query-length weights, short-list z-scores, and
(``hybrid``) the cross-language rule of ``knowledge.fusion.cross_language_weights`` or
(``hybrid-samelang``) without it. Also the English/Korean nDCG ratio (issue 13's target: >= 0.85).

    uv run python benchmarks/bench_cross_lingual.py --max-queries 200 --max-passages 2000

Embeddings are cached under data/bench-cache/ (shared with bench_retrieval_quality.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_data
from aiharness.knowledge.analysis import get_analyzer, text_script
from aiharness.knowledge.embedders import EmbedderSettings, create_embedder
from aiharness.knowledge.fusion import (
    DEFAULT_CANDIDATES,
    DEFAULT_METHOD,
    DEFAULT_RRF_K,
    LANGUAGE_SAMPLE,
    cross_language_weights,
    query_length_weights,
)
from bench_retrieval_quality import ROOT, ModeResult, hybrid_runs, keyword_mode, scores, vector_mode


def run(
    data: retrieval_data.RetrievalSet, embedder: object, cache_dir: Path, k: int
) -> dict[str, dict[str, float]]:
    keyword = keyword_mode(data, "kiwi", DEFAULT_CANDIDATES)
    vector = vector_mode(data, embedder, cache_dir, DEFAULT_CANDIDATES, 0)  # type: ignore[arg-type]
    kiwi = get_analyzer("kiwi")
    n_terms = {q: len(set(kiwi.terms(text))) for q, text in data.queries.items()}
    scripts = {pid: text_script(text) for pid, text in data.corpus.items()}

    def plain(qid: str) -> dict[str, float]:
        return query_length_weights(n_terms[qid])

    def product(qid: str) -> dict[str, float]:
        # What retrieval.search does: the vector side's top passages decide their language.
        top = [p for p, _ in vector.runs[qid][:LANGUAGE_SAMPLE]]
        return cross_language_weights(
            plain(qid), text_script(data.queries[qid]), [scripts[p] for p in top]
        )

    modes: dict[str, ModeResult] = {
        "bm25-kiwi": keyword,
        "vector": vector,
        "hybrid-samelang": hybrid_runs(keyword, vector, DEFAULT_METHOD, plain, DEFAULT_RRF_K, k),
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
    except retrieval_data.DatasetMissing as exc:
        print(f"skipping: {exc}")
        return 0
    english = retrieval_data.RetrievalSet(
        name="msmarco-ko",  # same passages, so the same passage cache
        language="en",
        corpus=korean.corpus,
        queries={q: english_text[q] for q in korean.queries},
        qrels=korean.qrels,
    )
    print(f"msmarco-ko: {len(korean.corpus)} Korean passages, {len(korean.queries)} queries")
    for note in korean.notes:
        print(f"  note: {note}")
    embedder = create_embedder(EmbedderSettings())
    embedder.warm_up()
    k = args.k
    results = {
        "ko->ko": run(korean, embedder, args.cache_dir, k),
        "en->ko": run(english, embedder, args.cache_dir, k),
    }
    print(f"\nCross-language retrieval (@{k}); embedding model: {embedder.name}")
    print(f"{'queries':<8} {'mode':<16} {'ndcg':>7} {'recall':>7} {'mrr':>7}")
    for direction, by_mode in results.items():
        for mode, metrics in by_mode.items():
            print(
                f"{direction:<8} {mode:<16} {metrics[f'ndcg@{k}']:>7.3f} "
                f"{metrics[f'recall@{k}']:>7.3f} {metrics[f'mrr@{k}']:>7.3f}"
            )
    print("\nEnglish/Korean nDCG ratio (target >= 0.85 for hybrid):")
    for mode in results["ko->ko"]:
        ko, en = results["ko->ko"][mode][f"ndcg@{k}"], results["en->ko"][mode][f"ndcg@{k}"]
        print(f"  {mode:<16} {en / ko if ko else 0.0:.3f}")
    embedder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
