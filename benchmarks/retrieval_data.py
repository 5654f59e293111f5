"""Loaders for the retrieval sets in ``../shared/datasets/retrieval`` (never copied here).

Each set becomes a corpus (passage id -> text), queries (query id -> text) and graded judgements
(query id -> passage id -> grade > 0). See that folder's README for sources and licenses.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DATASETS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "retrieval"
NAMES = ("autorag-ko", "msmarco-ko", "emanual", "msmarco-en")


class DatasetMissing(RuntimeError):
    """The shared data folder is absent (a fresh machine); benchmarks skip with this message."""


@dataclass
class RetrievalSet:
    name: str
    language: str
    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)


def load(name: str, root: Path = DATASETS_DIR) -> RetrievalSet:
    loaders: dict[str, Callable[[Path], RetrievalSet]] = {
        "autorag-ko": _autorag_ko,
        "msmarco-ko": _msmarco_ko,
        "emanual": _emanual,
        "msmarco-en": _msmarco_en,
    }
    if name not in loaders:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(NAMES)}")
    folder = root / name
    if not folder.is_dir():
        raise DatasetMissing(f"{folder} not found: evaluation data lives in ../shared/datasets/")
    data = loaders[name](folder)
    # Keep only queries with at least one judged passage present in the corpus.
    data.qrels = {
        q: {p: g for p, g in rel.items() if p in data.corpus and g > 0}
        for q, rel in data.qrels.items()
        if q in data.queries
    }
    data.qrels = {q: rel for q, rel in data.qrels.items() if rel}
    data.queries = {q: t for q, t in data.queries.items() if q in data.qrels}
    return data


def subsample(
    data: RetrievalSet, *, max_queries: int | None, max_passages: int | None, seed: int = 13
) -> RetrievalSet:
    """A seeded sample of queries, and of passages keeping every passage judged for them."""
    rng = random.Random(seed)
    qids = sorted(data.queries)
    if max_queries is not None and len(qids) > max_queries:
        qids = sorted(rng.sample(qids, max_queries))
    judged = {p for q in qids for p in data.qrels[q]}
    pids = list(data.corpus)
    notes = list(data.notes)
    if max_passages is not None and len(pids) > max_passages:
        others = [p for p in pids if p not in judged]
        room = max(0, max_passages - len(judged))
        keep = judged | set(rng.sample(others, min(room, len(others))))
        pids = [p for p in pids if p in keep]
        notes.append(f"corpus subsampled to {len(pids)} of {len(data.corpus)} passages")
    if len(qids) < len(data.queries):
        notes.append(f"queries subsampled to {len(qids)} of {len(data.queries)}")
    return RetrievalSet(
        name=data.name,
        language=data.language,
        corpus={p: data.corpus[p] for p in pids},
        queries={q: data.queries[q] for q in qids},
        qrels={q: data.qrels[q] for q in qids},
        notes=notes,
    )


def english_queries(root: Path = DATASETS_DIR) -> dict[str, str]:
    """msmarco-ko's questions in their original English, by the same query ids."""
    path = root / "msmarco-ko" / "msmarco_eng.json"
    if not path.exists():
        raise DatasetMissing(f"{path} is missing")
    return {str(row["id"]): row["query"] for row in json.loads(path.read_text(encoding="utf-8"))}


def english_passages(root: Path = DATASETS_DIR) -> dict[str, str]:
    """msmarco-ko's passages in their original English, under the Korean passages' ids.

    ``msmarco_eng.json`` lists each question's passages in the same order as the Korean file;
    the few questions whose lists differ in length are left out (their ids get no English)."""
    folder = root / "msmarco-ko"
    paths = [folder / "msmarco_kor.json", folder / "msmarco_eng.json"]
    if not all(p.exists() for p in paths):
        raise DatasetMissing(f"{folder} lacks msmarco_kor.json or msmarco_eng.json")
    korean, english = (json.loads(p.read_text(encoding="utf-8")) for p in paths)
    by_text: dict[str, str] = {}
    out: dict[str, str] = {}
    for ko_row, en_row in zip(korean, english, strict=True):
        aligned = len(ko_row["positive"]) == len(en_row["positive"])
        for i, text in enumerate(ko_row["positive"]):
            pid = by_text.setdefault(text, f"p{len(by_text)}")  # as _msmarco_ko numbers them
            if aligned and ko_row["id"] == en_row["id"]:
                out.setdefault(pid, en_row["positive"][i])
    return out


def _autorag_ko(folder: Path) -> RetrievalSet:
    import pyarrow.parquet as pq

    corpus = {
        row["doc_id"]: row["contents"]
        for row in pq.read_table(folder / "ocr_corpus_v3.parquet").to_pylist()
    }
    queries, qrels = {}, {}
    for row in pq.read_table(folder / "qa_v4.parquet").to_pylist():
        queries[row["qid"]] = row["query"]
        qrels[row["qid"]] = {pid: 1 for group in row["retrieval_gt"] for pid in group}
    return RetrievalSet("autorag-ko", "ko", corpus, queries, qrels)


def _msmarco_ko(folder: Path) -> RetrievalSet:
    rows = json.loads((folder / "msmarco_kor.json").read_text(encoding="utf-8"))
    corpus: dict[str, str] = {}
    by_text: dict[str, str] = {}
    queries, qrels = {}, {}
    for row in rows:
        qid = str(row["id"])
        queries[qid] = row["query"]
        rel = {}
        for text in row["positive"]:
            pid = by_text.setdefault(text, f"p{len(by_text)}")
            corpus[pid] = text
            rel[pid] = 1
        qrels[qid] = rel
    return RetrievalSet("msmarco-ko", "ko", corpus, queries, qrels)


def _msmarco_en(folder: Path) -> RetrievalSet:
    corpus = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            corpus[row["_id"]] = (row.get("title", "") + " " + row["text"]).strip()
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            queries[row["_id"]] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2].lstrip("-").isdigit():
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return RetrievalSet("msmarco-en", "en", corpus, queries, qrels)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _emanual(folder: Path) -> RetrievalSet:
    """Both manuals in one corpus (712 sections, 100 questions).

    Galaxy S10 questions name their section by URL (exact). Smart-TV sections carry only a title,
    so the gold section is the one containing the start of the gold answer, ties broken by a
    title on the question's section path, falling back to the title alone.
    """
    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    unresolved = 0
    for manual in ("s10", "smart_tv_remote"):
        sections = json.loads((folder / f"{manual}_manual_corpus.json").read_text(encoding="utf-8"))
        for key, sec in sections.items():
            corpus[f"{manual}/{key}"] = (sec["title"] + "\n" + " ".join(sec["text"])).strip()
        by_url = {
            sec.get("section_url", "").rsplit("/", 1)[-1]: f"{manual}/{key}"
            for key, sec in sections.items()
        }
        texts = {f"{manual}/{k}": _norm(" ".join(s["text"])) for k, s in sections.items()}
        titles = {f"{manual}/{k}": _norm(s["title"]) for k, s in sections.items()}
        with (folder / f"{manual}_50_questions.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                qid = f"{manual}/{row['question_id']}"
                queries[qid] = row["question"]
                gold = _emanual_gold(row, manual, by_url, texts, titles)
                if gold:
                    qrels[qid] = dict.fromkeys(gold, 1)
                else:
                    unresolved += 1
    notes = (
        [f"{unresolved} questions without a resolvable gold section dropped"] if unresolved else []
    )
    return RetrievalSet("emanual", "en", corpus, queries, qrels, notes)


def _emanual_gold(
    row: dict[str, str],
    manual: str,
    by_url: dict[str, str],
    texts: dict[str, str],
    titles: dict[str, str],
) -> list[str]:
    if manual == "s10":
        hit = by_url.get(row["section_link"].rsplit("/", 1)[-1])
        return [hit] if hit else []
    path = [_norm(p) for p in row["section_path"].split(">")]
    answer = _norm(row["answer"])
    for length in (200, 100, 50, 30):
        frag = answer[:length]
        found = [pid for pid, text in texts.items() if frag and frag in text]
        if found:
            titled = [pid for pid in found if titles[pid] in path]
            return titled or found
    for part in reversed(path):
        titled = [pid for pid, title in titles.items() if title == part]
        if titled:
            return titled
    return []
