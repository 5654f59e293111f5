"""Answer quality of the assistant: citations, answer overlap, refusals and latency.

Ingests ``src/aiharness/knowledge/sample_docs`` (collection ``samples``) and the autorag-ko
corpus (collection ``autorag``, one file per passage) into a fresh data dir with the product's
embedder, then asks through ``aiharness.assistant.public.ask`` (the API's path):

- autorag-ko questions (``qa_v4.parquet``): share of answers citing >= 1 gold passage, share of
  citations pointing to gold passages, token F1 of the answer vs ``generation_gt`` (Kiwi
  morphemes), refusals;
- the 60 sample-doc questions of ``benchmarks/data/assistant_questions.json``: refusal rate on
  the 30 unanswerable, false refusals and right-source rate on the 30 answerable;
- end-to-end latency p50/p95 of ``ask`` (extractive unless ``--llm-url``).

``--calibrate`` also fits ``assistant/relevance.py``'s weights: on autorag-ko questions (asked
on their own collection: answerable; asked on ``samples``, another domain: not) plus the first
15 + 15 sample questions, and reports the fitted rule on every split (the last 15 + 15 held out).

    nice -n 10 uv run python benchmarks/bench_assistant.py --max-queries 100
    uv run python benchmarks/bench_assistant.py --max-queries 40 --calibrate
    uv run python benchmarks/bench_assistant.py --llm-url http://127.0.0.1:8080/v1 --llm-model m
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_data

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "src" / "aiharness" / "knowledge" / "sample_docs"
QUESTIONS = Path(__file__).resolve().parent / "data" / "assistant_questions.json"
CALIBRATION_SPLIT = 15
_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass
class Asked:
    question: str
    answer: str
    refused: bool
    cited_files: list[str]
    latency_ms: float
    generator: str = "extractive"


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def token_f1(answer: str, gold: str) -> float:
    """Bag-of-morphemes F1 (Kiwi content morphemes, stemmed English) of answer vs gold."""
    from aiharness.knowledge.public import keyword_terms

    a = Counter(keyword_terms(_MARKER.sub("", answer)))
    g = Counter(keyword_terms(gold))
    common = sum((a & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def build(
    workdir: Path, autorag: dict[str, str] | None, llm_url: str | None, llm_model: str
) -> Any:
    """A platform with both collections ingested through the real ingest jobs."""
    if llm_url:
        os.environ["AIHARNESS_GATEWAY__BASE_URL"] = llm_url
        os.environ["AIHARNESS_GATEWAY__MODEL"] = llm_model
    from aiharness.features import FEATURES, make_settings
    from aiharness.jobs.queue import QueueHub
    from aiharness.jobs.worker import JobRunner
    from aiharness.knowledge import ingest
    from aiharness.knowledge.public import KnowledgeRuntime, find_collection
    from aiharness.platform import build_platform

    settings = make_settings(
        data_dir=workdir / "data",
        log_level="error",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
    )
    platform = build_platform(settings, role="cli", features=FEATURES)
    knowledge = platform.get(KnowledgeRuntime)
    folders = {"samples": SAMPLES}
    if autorag is not None:
        folder = workdir / "autorag"
        folder.mkdir(exist_ok=True)
        for i, text in enumerate(autorag.values()):
            (folder / f"p{i:05d}.txt").write_text(text, encoding="utf-8")
        folders["autorag"] = folder
    with platform.unit_of_work() as session:
        # A kept --workdir already holds them (same corpus sample: same --seed and sizes).
        folders = {
            name: folder
            for name, folder in folders.items()
            if find_collection(session=session, name=name) is None
        }
    queues = platform.get(QueueHub)
    started = time.perf_counter()
    for name, folder in folders.items():
        with platform.unit_of_work() as session:
            ingest.ingest_path(
                session=session,
                queues=queues,
                runtime=knowledge,
                raw_path=str(folder),
                collection_name=name,
                check_roots=False,
            )
    runner = JobRunner(platform=platform, worker_id="bench-assistant")
    queue = queues.get("default")
    while (job_id := queue.receive()) is not None:
        runner(job_id)
    print(f"ingested {len(folders)} collections in {time.perf_counter() - started:.1f} s")
    return platform


def ask_all(platform: Any, questions: Sequence[str], collection: str, k: int) -> list[Asked]:
    from aiharness.assistant.public import AssistantRuntime, ask

    runtime = platform.get(AssistantRuntime)
    out = []
    for question in questions:
        with platform.unit_of_work() as session:
            t0 = time.perf_counter()
            result = asyncio.run(
                ask(runtime, session=session, question=question, collections=[collection], k=k)
            )
            ms = (time.perf_counter() - t0) * 1000
        out.append(
            Asked(
                question=question,
                answer=result.answer,
                refused=result.meta.refused,
                cited_files=[s.file_name for s in result.sources],
                latency_ms=ms,
                generator=result.meta.generator,
            )
        )
    return out


def features(platform: Any, questions: Sequence[str], collection: str, k: int) -> list[Any]:
    """relevance() of the passages the assistant would be given (for calibration)."""
    from aiharness.assistant import packing, service
    from aiharness.assistant.public import AssistantRuntime
    from aiharness.assistant.relevance import relevance

    runtime = platform.get(AssistantRuntime)
    out = []
    for question in questions:
        with platform.unit_of_work() as session:
            hits, _ = service._search_all(runtime, session, question, [collection], k)
        packed = packing.pack(
            hits,
            budget_tokens=runtime.section.context_tokens,
            duplicate_overlap=runtime.section.duplicate_overlap,
        )
        out.append(relevance(question, packed.passages))
    return out


def fit_logistic(
    x: list[list[float]], y: list[int], groups: list[str], steps: int = 6000
) -> list[float]:
    """Weights (last one the bias) of a logistic regression, by plain gradient descent with a
    little L2; each group (calibration split) weighs the same, so the many easy autorag-ko
    examples do not drown the few hard sample-doc ones."""
    import numpy as np

    xs = np.array([[*row, 1.0] for row in x], dtype=float)
    ys = np.array(y, dtype=float)
    sizes = Counter(groups)
    sample_w = np.array([1.0 / (len(sizes) * sizes[g]) for g in groups])
    w = np.zeros(xs.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xs @ w)))
        grad = xs.T @ ((p - ys) * sample_w) + 1e-3 * np.r_[w[:-1], 0.0]
        w -= 2.0 * grad
    return [float(v) for v in w]


def calibrate(
    platform: Any, autorag_queries: list[str], qs: dict[str, Any], k: int, verbose: bool = False
) -> None:
    answerable = [q["question"] for q in qs["answerable"]]
    unanswerable = [q["question"] for q in qs["unanswerable"]]
    c = CALIBRATION_SPLIT
    asked = {
        "autorag (answerable)": (autorag_queries, "autorag", 1),
        "autorag on samples (not)": (autorag_queries, "samples", 0),
        "samples asked on autorag (not)": (answerable[:c] + unanswerable[:c], "autorag", 0),
        "samples answerable, calib": (answerable[:c], "samples", 1),
        "samples unanswerable, calib": (unanswerable[:c], "samples", 0),
        "samples answerable, held out": (answerable[c:], "samples", 1),
        "samples unanswerable, held out": (unanswerable[c:], "samples", 0),
    }
    sets = {
        name: (questions, features(platform, questions, collection, k), y)
        for name, (questions, collection, y) in asked.items()
    }
    calib = [name for name in sets if "held out" not in name]
    examples = [(f, sets[name][2], name) for name in calib for f in sets[name][1]]
    same = [e for e in examples if not e[0].cross_language and e[0].similarity is not None]
    cross = [e for e in examples if e[0].cross_language and e[0].similarity is not None]
    w_same = fit_logistic(
        [[f.coverage, f.union, f.similarity, f.missing_code, f.length] for f, _, _ in same],
        [y for _, y, _ in same],
        [g for _, _, g in same],
    )
    print(
        f"same language ({len(same)} examples): W_COVERAGE={w_same[0]:.2f} "
        f"W_UNION={w_same[1]:.2f} W_SIMILARITY={w_same[2]:.2f} "
        f"W_MISSING_CODE={w_same[3]:.2f} W_LENGTH={w_same[4]:.2f} BIAS={w_same[5]:.2f}"
    )
    w_kw = fit_logistic(
        [[f.coverage, f.union, f.missing_code, f.length] for f, _, _ in same],
        [y for _, y, _ in same],
        [g for _, _, g in same],
    )
    print(
        f"keyword only: KW_COVERAGE={w_kw[0]:.2f} KW_UNION={w_kw[1]:.2f} "
        f"KW_MISSING_CODE={w_kw[2]:.2f} KW_LENGTH={w_kw[3]:.2f} KW_BIAS={w_kw[4]:.2f}"
    )
    w_cross: list[float] = []
    if len({y for _, y, _ in cross}) == 2:
        w_cross = fit_logistic(
            [[f.similarity] for f, _, _ in cross],
            [y for _, y, _ in cross],
            [str(y) for _, y, _ in cross],
        )
        print(
            f"cross language ({len(cross)} examples): CROSS_W_SIMILARITY={w_cross[0]:.2f} "
            f"CROSS_BIAS={w_cross[1]:.2f}"
        )
    else:
        print(f"cross language: {len(cross)} examples of one class only; weights kept")

    def fitted(f: Any) -> bool:
        if f.cross_language and f.similarity is not None and len(w_cross) == 2:
            return bool(w_cross[0] * f.similarity + w_cross[1] > 0)
        if f.similarity is None:
            return bool(f.score() > 0)
        z = w_same[0] * f.coverage + w_same[1] * f.union + w_same[2] * f.similarity
        z += w_same[3] * f.missing_code + w_same[4] * f.length + w_same[5]
        if f.other_similarity is not None and len(w_cross) == 2:
            z = max(z, w_cross[0] * f.other_similarity + w_cross[1])
        return bool(z > 0)

    print(f"\n{'split':34} {'n':>4} {'accepted':>9} {'fitted':>7}  coverage  similarity")
    for name, (_, feats, _) in sets.items():
        if not feats:
            continue
        accepted = fmean(f.score() > 0 for f in feats)
        refit = fmean(fitted(f) for f in feats)
        cov = fmean(f.coverage for f in feats)
        sims = [f.similarity for f in feats if f.similarity is not None]
        print(
            f"{name:34} {len(feats):4d} {accepted:9.1%} {refit:7.1%}  {cov:8.2f}  "
            f"{fmean(sims) if sims else float('nan'):10.3f}"
        )
    print("(accepted: the weights in relevance.py; fitted: the weights above, to paste there)")
    if verbose:
        for name, (questions, feats, y) in sets.items():
            for question, f in zip(questions, feats, strict=True):
                if (f.score() > 0) != bool(y):
                    print(
                        f"  wrong: {name[:24]:24} y={y} cross={f.cross_language:d} "
                        f"cov={f.coverage:.2f} union={f.union:.2f} sim={f.similarity} "
                        f"other={f.other_similarity} code={f.missing_code:.0f} "
                        f"{question[:60]}"
                    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-queries", type=int, default=None, help="autorag-ko questions")
    parser.add_argument(
        "--max-passages",
        type=int,
        default=None,
        help="autorag-ko passages to index (the asked questions' gold ones always; "
        "embedding the whole 720 takes long on a small machine)",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--workdir", default=None, help="keep the data dir here and reuse its collections"
    )
    parser.add_argument("--k", type=int, default=5, help="passages per question (default 5)")
    parser.add_argument("--llm-url", default=None, help="OpenAI-compatible server (with /v1)")
    parser.add_argument("--llm-model", default="default", help="model name for --llm-url")
    parser.add_argument("--calibrate", action="store_true", help="fit relevance.py's weights")
    parser.add_argument(
        "--ingest-only", action="store_true", help="fill --workdir's collections and stop"
    )
    parser.add_argument("--verbose", action="store_true", help="print every example")
    parser.add_argument("--no-autorag", action="store_true", help="sample-doc questions only")
    args = parser.parse_args()

    qs = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    data = None
    if not args.no_autorag:
        try:
            data = retrieval_data.load("autorag-ko")
        except retrieval_data.DatasetMissing as exc:
            print(f"autorag-ko skipped: {exc}")
    gold_answers: dict[str, str] = {}
    if data is not None:
        import pyarrow.parquet as pq

        for row in pq.read_table(
            retrieval_data.DATASETS_DIR / "autorag-ko" / "qa_v4.parquet"
        ).to_pylist():
            gold_answers[row["qid"]] = (row["generation_gt"] or [""])[0]
        data = retrieval_data.subsample(
            data, max_queries=args.max_queries, max_passages=args.max_passages, seed=args.seed
        )
        qids = sorted(data.queries)
        for note in data.notes:
            print(f"autorag-ko: {note}")
    with tempfile.TemporaryDirectory(prefix="bench-assistant-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        platform = build(workdir, data.corpus if data else None, args.llm_url, args.llm_model)
        try:
            if args.ingest_only:
                return 0
            # Warm-up outside the timings: Kiwi, the index, the model.
            ask_all(platform, ["워밍업 질문입니다", "warm-up question"], "samples", args.k)
            if args.calibrate:
                calibrate(
                    platform,
                    [data.queries[q] for q in qids] if data else [],
                    qs,
                    args.k,
                    verbose=args.verbose,
                )
            report(platform, data, qids if data else [], gold_answers, qs, args.k, args.verbose)
        finally:
            platform.close()
    return 0


def report(
    platform: Any,
    data: retrieval_data.RetrievalSet | None,
    qids: list[str],
    gold_answers: dict[str, str],
    qs: dict[str, Any],
    k: int,
    verbose: bool = False,
) -> None:
    latencies: list[float] = []
    generators: Counter[str] = Counter()
    rows: list[tuple[str, str, str]] = []
    if data is not None:
        names = {f"p{i:05d}.txt": pid for i, pid in enumerate(data.corpus)}
        asked = ask_all(platform, [data.queries[q] for q in qids], "autorag", k)
        latencies += [a.latency_ms for a in asked]
        generators.update(a.generator for a in asked if not a.refused)
        cites_gold, precision, f1s = [], [], []
        for qid, a in zip(qids, asked, strict=True):
            gold = set(data.qrels[qid])
            cited = [names.get(f) for f in a.cited_files]
            cites_gold.append(any(c in gold for c in cited))
            if cited:
                precision.append(fmean(c in gold for c in cited))
            f1s.append(token_f1(a.answer, gold_answers.get(qid, "")) if not a.refused else 0.0)
        refused = fmean(a.refused for a in asked)
        rows += [
            ("autorag-ko: answers citing a gold passage", f"{fmean(cites_gold):.1%}", ">= 85 %"),
            ("autorag-ko: citations pointing to gold", f"{fmean(precision):.1%}", ""),
            ("autorag-ko: token F1 vs generation_gt", f"{fmean(f1s):.3f}", ""),
            ("autorag-ko: refused", f"{refused:.1%}", ""),
        ]
    c = CALIBRATION_SPLIT
    answerable = qs["answerable"]
    unanswerable = qs["unanswerable"]
    a_asked = ask_all(platform, [q["question"] for q in answerable], "samples", k)
    u_asked = ask_all(platform, [q["question"] for q in unanswerable], "samples", k)
    latencies += [a.latency_ms for a in a_asked + u_asked]
    generators.update(a.generator for a in a_asked + u_asked if not a.refused)
    right_source = [q["source"] in a.cited_files for q, a in zip(answerable, a_asked, strict=True)]
    for label, part in (("all", slice(None)), ("held out", slice(c, None))):
        rows += [
            (
                f"samples ({label}): refusals on unanswerable",
                f"{fmean(a.refused for a in u_asked[part]):.1%}",
                ">= 90 %",
            ),
            (
                f"samples ({label}): false refusals on answerable",
                f"{fmean(a.refused for a in a_asked[part]):.1%}",
                "<= 10 %",
            ),
            (
                f"samples ({label}): answers citing the expected file",
                f"{fmean(right_source[part]):.1%}",
                "",
            ),
        ]
    rows += [
        ("ask latency p50 (ms)", f"{percentile(latencies, 0.5):.0f}", ""),
        ("ask latency p95 (ms)", f"{percentile(latencies, 0.95):.0f}", "<= 300"),
    ]
    print(f"\n{'measure':52} {'value':>8}  target")
    for name, value, target in rows:
        print(f"{name:52} {value:>8}  {target}")
    made = ", ".join(f"{n} {g}" for g, n in sorted(generators.items())) or "none"
    print(f"\n({len(qids)} autorag-ko questions, {len(latencies)} asks, k={k}; answers: {made})")
    misses = [(q, a) for q, a in zip(answerable, a_asked, strict=True) if a.refused]
    wrong = [(q, a) for q, a in zip(unanswerable, u_asked, strict=True) if not a.refused]
    for q, _ in misses:
        print(f"  false refusal {q['id']}: {q['question']}")
    for q, a in wrong:
        print(f"  answered {q['id']}: {q['question']} -> {a.answer[:100]}")
    if verbose:
        for q, a in zip(answerable, a_asked, strict=True):
            mark = "ok " if q["source"] in a.cited_files else "NO "
            print(f"  {mark}{q['id']} {q['question']}\n      expected: {q['answer']}")
            print(f"      got: {a.answer[:300]}")


if __name__ == "__main__":
    raise SystemExit(main())
