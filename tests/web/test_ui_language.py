"""Korean pages say everything in Korean: the platform's own English messages (job notes,
dependency details, events, errors) are translated, durations read as "18분 44초", and times
carry their instant and zone for the browser to show in the viewer's own zone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.web.i18n import PHRASES, Catalogs, iso_utc

pytestmark = pytest.mark.unit

KO = {"Accept-Language": "ko", "Accept": "text/html"}
HANGUL = re.compile(r"[가-힣]")
# One message the platform really writes for each known phrase.
EXAMPLES = {
    "msg.job.cancelled_before_run": "cancelled before it ran",
    "msg.job.cancel_requested": "cancellation requested; the job stops at its next check",
    "msg.job.cancelled_running": "cancelled while running",
    "msg.job.retried_by_hand": "retried by hand",
    "msg.job.permanent_error": "permanent error",
    "msg.job.no_attempts_left": "no attempts left",
    "msg.job.requeued": "re-queued: worker host-1:42 stopped responding during attempt 1 of 3",
    "msg.job.worker_lost": "worker host-1:42 stopped responding during attempt 3 of 3; "
    "no attempts left",
    "msg.job.waiting_queue": "waiting for the queue: redis 127.0.0.1:6379/0 refused",
    "msg.job.retry_scheduled": "attempt 1 of 3 failed; next attempt in 2.0 s",
    "msg.job.handed_back": "handed back by stopping worker host-1:42",
    "msg.job.docs_failed": "1 of 3 documents failed",
    "msg.progress.documents_failed": "2/2 documents, 1 failed",
    "msg.progress.documents": "3/5 documents",
    "msg.progress.passages": "40/120 passages",
    "msg.health.db_ok": "sqlite, revision 0005",
    "msg.health.db_behind": "sqlite:///x.db is at revision 0002, expected 0005; "
    "run `aiharness db upgrade`",
    "msg.health.kb_tables_missing": "the knowledge tables are missing; run `aiharness db upgrade`",
    "msg.health.index_ok": "sqlite: 12 chunks in 1 collection",
    "msg.health.embedder_loading": "loading the embedding model",
    "msg.health.embedder_ok": "multilingual-e5-small, 384 dimensions",
    "msg.health.queue_ok": "sqlite /d/queue.db queue 'default': 0 waiting; no live workers",
    "msg.event.started": "aiharness 0.4.0 started",
    "msg.event.stopped": "aiharness stopped",
    "msg.doc.empty": "empty.txt is empty.",
    "msg.doc.no_text": "scan.pdf contains no text to index.",
    "msg.doc.whitespace": "blank.md contains only whitespace.",
    "msg.doc.password": "secret.pdf is a password-protected PDF; remove the password first.",
    "msg.doc.binary": "a.txt looks like binary data, not text (it contains NUL bytes).",
    "msg.doc.unsupported": "a.exe: file type .exe is not supported. Supported types: .txt, .md.",
    "msg.doc.stored_missing": "a.txt: the stored file is missing; upload it again",
    "msg.err.document_missing": "document 7 does not exist",
    "msg.err.job_missing": "job abc does not exist",
    "msg.err.collection_missing": "collection 'x' does not exist; create it with "
    "`aiharness collections create x` or POST /api/collections",
    "msg.err.not_found": "Not Found",
    "msg.err.query_empty": "the query is empty",
}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


def test_every_known_phrase_has_an_example() -> None:
    assert {key for key, _ in PHRASES} == EXAMPLES.keys()


@pytest.mark.parametrize(("key", "message"), EXAMPLES.items())
def test_platform_messages_read_in_korean(catalogs: Catalogs, key: str, message: str) -> None:
    korean = catalogs.phrase("ko", message)
    assert korean is not None, f"{message!r} is not recognised"
    assert korean == catalogs.translate("ko", key, **_params(key, message))
    assert HANGUL.search(korean), korean
    assert "{" not in korean
    assert catalogs.phrase("en", message) is not None


def _params(key: str, message: str) -> dict[str, str]:
    pattern = dict(PHRASES)[key]
    match = pattern.fullmatch(message)
    assert match is not None
    return {k: "0" if v == "no" else v for k, v in match.groupdict().items()}


def test_unknown_messages_are_left_as_written(catalogs: Catalogs) -> None:
    assert catalogs.phrase("ko", "ValueError: something odd") is None


@pytest.mark.parametrize(
    ("seconds", "ko", "en"),
    [
        (1124, "18분 44초", "18 min 44 s"),
        (0.42, "0.4초", "0.4 s"),
        (42.7, "42초", "42 s"),
        (300, "5분", "5 min"),
        (3725, "1시간 2분", "1 h 2 min"),
        (90061, "1일 1시간", "1 d 1 h"),
    ],
)
def test_durations_read_as_people_say_them(
    catalogs: Catalogs, seconds: float, ko: str, en: str
) -> None:
    assert catalogs.duration("ko", seconds) == ko
    assert catalogs.duration("en", seconds) == en


def test_times_are_instants_in_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    naive = datetime(2026, 12, 2, 14, 5, 9)
    assert iso_utc(naive) == "2026-12-02T14:05:09Z"
    seoul = datetime(2026, 12, 2, 23, 5, 9, tzinfo=timezone(timedelta(hours=9)))
    assert iso_utc(seoul) == "2026-12-02T14:05:09Z"
    assert iso_utc(datetime(2026, 1, 1, tzinfo=UTC)).endswith("Z")


@pytest.mark.integration
def test_dashboard_in_korean_translates_dependencies_and_events(client: TestClient) -> None:
    page = client.get("/", headers=KO).text
    assert "데이터베이스" in page and "스키마 버전" in page
    assert "플랫폼 시작" in page  # the started event, by kind and by message
    assert " started" not in page.split("<main", 1)[1]
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z" data-style="datetime">', page)
    assert "시각은 UTC 기준" in page  # until app.js names the viewer's zone
    assert re.search(r"가동 시간</dt><dd>\d+(\.\d)?초", page)


@pytest.mark.integration
def test_job_notes_and_times_in_korean(client: TestClient) -> None:
    job = client.post("/api/jobs", json={"type": "noop"}).json()
    client.post(f"/api/jobs/{job['id']}/cancel")
    listing = client.get("/jobs", headers=KO).text
    assert "실행 전에 취소됨" in listing and "cancelled before it ran" not in listing
    assert "빈 작업(점검용)" in listing
    detail = client.get(f"/jobs/{job['id']}", headers=KO).text
    assert "실행 전에 취소됨" in detail
    assert "<time datetime=" in detail


@pytest.mark.integration
def test_error_pages_explain_in_korean_and_keep_the_detail(client: TestClient) -> None:
    page = client.get("/jobs/no-such-job", headers=KO)
    assert page.status_code == 404
    assert "작업 no-such-job이(가) 없습니다" in page.text
    assert "기술 정보" in page.text and "job no-such-job does not exist" in page.text
    unknown = client.get("/no-such-page", headers=KO).text
    assert "찾을 수 없습니다" in unknown and "404 · Not Found" in unknown
    english = client.get("/no-such-page", headers={"Accept": "text/html"}).text
    assert "Technical detail" in english and "문제" not in english
    # English readers get the server's own message, with its hints, unchanged.
    flash = client.post("/ui/knowledge/nowhere/delete").text
    assert "`aiharness collections create nowhere`" in flash


def test_a_feature_translates_its_own_messages_with_msg_keys(tmp_path: Path) -> None:
    for lang, shell, feature in [
        ("en", {"x": "x"}, {"msg.demo.up": "{up}/{total} backends up", "msg.demo.off": "off"}),
        (
            "ko",
            {"x": "x"},
            {"msg.demo.up": "백엔드 {total}개 중 {up}개 정상", "msg.demo.off": "꺼짐"},
        ),
    ]:
        (tmp_path / "demo").mkdir(exist_ok=True)
        (tmp_path / f"{lang}.json").write_text(json.dumps(shell), encoding="utf-8")
        (tmp_path / "demo" / f"{lang}.json").write_text(json.dumps(feature), encoding="utf-8")
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.phrase("ko", "2/3 backends up") == "백엔드 3개 중 2개 정상"
    assert catalogs.phrase("ko", "off") == "꺼짐"
    assert catalogs.phrase("ko", "2/3 backends down") is None
    assert catalogs.phrase("ko", "offline") is None  # whole messages only
