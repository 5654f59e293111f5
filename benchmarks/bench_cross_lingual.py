"""Search across languages on msmarco-ko: the same passages in Korean and in English, the same
questions asked in Korean and in English.

``msmarco_kor.json`` / ``msmarco_eng.json`` hold each question and its passages in both
languages under the same ids. Four directions: Korean and English questions over the Korean
passages (issue 13's measure: en->ko nDCG@10 >= 0.85 x ko->ko), and both over the English
passages (the reverse case: Korean questions over English manuals), and both over one bilingual
collection ("mix": every other passage in English, as a plant keeps manuals in both languages;
compared with the same questions over passages all in their own language). Modes: keyword
(Kiwi BM25); ``vector-main``, the embedding model alone; ``vector``, what search does (with the
cross-language bridge of ``knowledge.embedders.bridge`` weighed in and the other language's
passages lifted when the main model's candidates are in another script than the question);
``hybrid``, the product's fusion (query-length weights, the cross-language rules of
``knowledge.fusion``) over keyword and ``vector``.

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
    CROSS_LANGUAGE_SCORE_OFFSET,
    DEFAULT_CANDIDATES,
    DEFAULT_METHOD,
    cross_language_weights,
    fuse,
    query_length_weights,
)
from aiharness.knowledge.languages import MIN_SHARE, script_shares
from bench_retrieval_quality import (
    ROOT,
    EmbeddingCache,
    ModeResult,
    embed_cached,
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
) -> tuple[ModeResult, dict[str, set[str]]]:
    """What retrieval's vector side does (``retrieval._vector_side``): ``main``'s ranking when
    the passages are all in the question's language; otherwise a second ranking with the
    bridge weighed in, over twice the candidates, the other language's passages lifted by
    ``CROSS_LANGUAGE_SCORE_OFFSET``. Also each question's candidates in the other language."""
    if not has_bridge(embedder):
        return main, {q: set() for q in main.runs}
    model = embedder.name.replace(":", "_").replace("/", "_")
    texts = list(data.corpus.values())
    cache = EmbeddingCache(cache_dir / data.name / f"{model}-passage.npz")
    passages, _ = embed_cached(embedder, texts, cache, role="passage", batch=32, label=data.name)
    matrix = np.ascontiguousarray(passages, dtype=np.float32)
    ids = list(data.corpus)
    scripts = {pid: text_script(text) for pid, text in data.corpus.items()}
    # The collection's languages, as search samples them (knowledge.languages).
    shares = script_shares(list(data.corpus.values()))
    present = {s for s, share in shares.items() if share >= MIN_SHARE}
    runs = dict(main.runs)
    other_language: dict[str, set[str]] = {}
    for qid, text in data.queries.items():
        wanted = text_script(text)
        other = {p for p, s in scripts.items() if s is not None and s != wanted}
        top = scripts[main.runs[qid][0][0]] if main.runs[qid] else None
        if wanted is None or (present | {top} - {None}) <= {wanted}:
            other_language[qid] = set()
            continue
        vector, scale = query_vector(embedder, text, weight)
        found = (matrix @ (vector / np.linalg.norm(vector))) * scale
        order = np.argsort(-found, kind="stable")[: 2 * DEFAULT_CANDIDATES]
        lifted = [
            (ids[i], float(found[i]) + (CROSS_LANGUAGE_SCORE_OFFSET if ids[i] in other else 0.0))
            for i in order
        ]
        runs[qid] = sorted(lifted, key=lambda hit: -hit[1])[:DEFAULT_CANDIDATES]
        other_language[qid] = {p for p, _ in runs[qid]} & other
    return ModeResult(runs, {}, main.index_s), other_language


def run(
    data: retrieval_data.RetrievalSet, embedder: Embedder, cache_dir: Path, k: int
) -> dict[str, dict[str, float]]:
    keyword = keyword_mode(data, "kiwi", DEFAULT_CANDIDATES)
    main = vector_mode(data, embedder, cache_dir, DEFAULT_CANDIDATES, 0)
    vector, other_language = bridged_vector(
        data, embedder, cache_dir, main, CROSS_LANGUAGE_BRIDGE_WEIGHT
    )
    kiwi = get_analyzer("kiwi")
    n_terms = {q: len(set(kiwi.terms(text))) for q, text in data.queries.items()}
    scripts = {pid: text_script(text) for pid, text in data.corpus.items()}
    runs = {}
    for qid, text in data.queries.items():
        # What retrieval.search does: the vector side's best passage decides the weights, and
        # the keyword side has no say on passages of the other language it did not match.
        weights = cross_language_weights(
            query_length_weights(n_terms[qid]),
            text_script(text),
            [scripts[p] for p, _ in vector.runs[qid][:1]],
        )
        matched = {p for p, _ in keyword.runs[qid]}
        runs[qid] = fuse(
            {"keyword": keyword.runs[qid], "vector": vector.runs[qid]},
            DEFAULT_METHOD,
            weights,
            k,
            complete={"keyword": DEFAULT_CANDIDATES},
            abstain={"keyword": other_language[qid] - matched},
        )
    modes: dict[str, ModeResult] = {
        "bm25-kiwi": keyword,
        "vector-main": main,
        "vector": vector,
        "hybrid": ModeResult(runs, {}, 0.0),
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
    # A bilingual collection: every other passage that has an English version is in English.
    mixed_corpus = {
        p: english_corpus[p] if p in english_corpus and int(p[1:]) % 2 == 0 else text
        for p, text in korean_passages.items()
    }
    sets["ko->mix"] = direction("msmarco-mixed", korean.queries, mixed_corpus, korean.qrels)
    sets["en->mix"] = direction("msmarco-mixed", english_queries, mixed_corpus, korean.qrels)
    print(
        f"msmarco-ko: {len(korean_passages)} Korean passages, {len(english_corpus)} of them "
        f"also in English, {len(korean.queries)} questions in both languages"
    )
    in_english = sum(mixed_corpus[p] != korean_passages[p] for p in mixed_corpus)
    print(
        f"  mix: one collection of {in_english} English and {len(mixed_corpus) - in_english} Korean"
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
    print(
        "\nnDCG ratio across / within one language (target >= 0.85 for hybrid, en->ko; "
        "mix: both languages in one collection):"
    )
    for across, within in (
        ("en->ko", "ko->ko"),
        ("ko->en", "en->en"),
        ("ko->mix", "ko->ko"),
        ("en->mix", "en->en"),
    ):
        for mode in results[within]:
            ref = results[within][mode][f"ndcg@{k}"]
            got = results[across][mode][f"ndcg@{k}"]
            print(f"  {across}/{within} {mode:<12} {got / ref if ref else 0.0:.3f}")
    embedder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
