"""Ingestion throughput on a subset of ../shared/datasets/corpora/precedent-kr-10k.tar.xz.

Runs the real ``knowledge.ingest`` job (through the jobs system's own runner, in this process)
on the first N court decisions, then embeds the very same chunks with the embedder alone.
Prints documents/s, chunks/s, the share of wall time inside the embedder and the ratio of
end-to-end chunks/s to the embedder's own chunks/s (target: >= 0.85). Kiwi, the tokenizer and
the model are loaded before timing, as in a long-running worker.

    uv run python benchmarks/bench_ingest.py [--docs 30]
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "datasets" / "corpora" / "precedent-kr-10k.tar.xz"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30, help="documents to ingest (default 30)")
    args = parser.parse_args()
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} is absent (the shared datasets folder is not on this machine)")
        return 0

    from sqlalchemy import select

    from aiharness.config import Settings
    from aiharness.db import migrate
    from aiharness.db.engine import session_scope
    from aiharness.jobs.registry import load_job_modules
    from aiharness.jobs.worker import JobRunner
    from aiharness.knowledge import ingest
    from aiharness.knowledge.chunking import count_tokens
    from aiharness.knowledge.embedders import create_embedder
    from aiharness.knowledge.kiwi import get_kiwi
    from aiharness.knowledge.models import Chunk
    from aiharness.knowledge.runtime import embedder_settings, runtime_for
    from aiharness.platform import build_platform

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        corpus = workdir / "corpus"
        corpus.mkdir()
        files = extract(args.docs, corpus)
        size = sum(p.stat().st_size for p in files)
        settings = Settings(
            data_dir=workdir / "data", worker_enabled=False, demo_ingest="off", log_level="error"
        )
        platform = build_platform(settings)
        migrate.upgrade(platform.engine)
        runtime = runtime_for(settings=settings, engine=platform.engine)
        # Warm-up, as a long-running worker has it: Kiwi, the tokenizer, the model.
        get_kiwi().tokenize("워밍업 문장입니다.")
        count_tokens("warm up")
        runtime.embedder.embed_passages(["warm up"])

        assert platform.queues is not None
        with session_scope(platform.session_factory) as session:
            response = ingest.ingest_path(
                session=session,
                queues=platform.queues,
                settings=settings,
                raw_path=str(corpus),
                collection_name="bench",
                check_roots=False,
            )
        runner = JobRunner(
            settings=settings,
            session_factory=platform.session_factory,
            queues=platform.queues,
            registry=load_job_modules(),
            worker_id="bench",
        )
        started = time.perf_counter()
        for job_id in response.job_ids:
            runner(job_id)
        wall = time.perf_counter() - started
        from aiharness.jobs import service as jobs_service

        with session_scope(platform.session_factory) as session:
            results = [
                jobs_service.get_job(session=session, job_id=j).result or {}
                for j in response.job_ids
            ]
            texts = list(session.scalars(select(Chunk.text).order_by(Chunk.id)))
        chunks = sum(r.get("chunks", 0) for r in results)
        embed_s = sum(r.get("embed_s", 0.0) for r in results)
        ready = sum(r.get("ready", 0) for r in results)
        failed = sum(r.get("failed", 0) for r in results)

        # The embedder alone on exactly the same chunks, in the pipeline's batch size.
        alone = create_embedder(embedder_settings(settings))
        alone.warm_up()
        alone.embed_passages(["warm up"])
        t0 = time.perf_counter()
        for i in range(0, len(texts), ingest.EMBED_BATCH):
            alone.embed_passages(texts[i : i + ingest.EMBED_BATCH])
        alone_s = time.perf_counter() - t0
        platform.close()

    e2e_rate = chunks / wall if wall else 0.0
    alone_rate = len(texts) / alone_s if alone_s else 0.0
    ratio = e2e_rate / alone_rate if alone_rate else 0.0
    print(f"corpus: {len(files)} court decisions from {CORPUS.name} ({size / 1e6:.2f} MB)")
    print(f"embedder: {runtime.embedder.name}, batch {ingest.EMBED_BATCH}")
    print(f"documents: {ready} ready, {failed} failed; chunks: {chunks}")
    print(f"end-to-end: {wall:.1f} s, {ready / wall:.2f} documents/s, {e2e_rate:.2f} chunks/s")
    print(f"time inside the embedder: {embed_s:.1f} s = {embed_s / wall:.0%} of wall time")
    print(f"embedder alone on the same chunks: {alone_s:.1f} s, {alone_rate:.2f} chunks/s")
    verdict = "meets" if ratio >= 0.85 else "misses"
    print(f"end-to-end / embedder-alone: {ratio:.2f} ({verdict} the 0.85 target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
