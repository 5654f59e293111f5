from __future__ import annotations

import pytest

from aiharness.observability.masking import MASK, mask_text, mask_value

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "leak"),
    [
        ("contact kim.minsu@plant.co.kr today", "kim.minsu@plant.co.kr"),
        ("휴대폰 010-1234-5678 로 연락", "010-1234-5678"),
        ("휴대폰 01012345678", "01012345678"),
        ("서울 사무실 02-345-6789", "02-345-6789"),
        ("경기 031-123-4567", "031-123-4567"),
        ("intl +82-10-9876-5432", "+82-10-9876-5432"),
        ("US +1 415 555 0100", "+1 415 555 0100"),
        ("주민등록번호 900101-1234567", "900101-1234567"),
        ("RRN 9001012234567", "9001012234567"),
        ("Authorization: Bearer abcdefghijklmnop123", "abcdefghijklmnop123"),
        ("key sk-proj-ABCDEFGHIJKLMNOPQRST", "sk-proj-ABCDEFGHIJKLMNOPQRST"),
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        ("password=hunter2 next", "hunter2"),
        ('api_key: "s3cr3t-value"', "s3cr3t-value"),
        ("postgresql+psycopg://app:topsecret@db:5432/x", "topsecret"),
    ],
)
def test_personal_data_and_secrets_are_masked(raw: str, leak: str) -> None:
    masked = mask_text(raw)
    assert leak not in masked


@pytest.mark.parametrize(
    "harmless",
    [
        "pump P-101A vibration 4.5 mm/s at 2026-03-01 12:00",
        "order 2026-0001234 shipped",
        "flow 1200 L/min, pressure 3.5 bar",
        "정비 주기 500시간",
    ],
)
def test_ordinary_numbers_are_left_alone(harmless: str) -> None:
    assert mask_text(harmless) == harmless


def test_secret_named_fields_are_replaced_whole() -> None:
    event = {"user": "kim", "password": "x", "headers": {"Authorization": "Basic abc"}, "n": 3}
    masked = mask_value(event)
    assert masked == {"user": "kim", "password": MASK, "headers": {"Authorization": MASK}, "n": 3}


@pytest.mark.parametrize(
    "identifier",
    ["0d06126012924bb78d9a71deb6e3a897", "job-9001012234567x", "sha256:a01012345678b"],
)
def test_digits_inside_identifiers_are_not_mistaken_for_phones(identifier: str) -> None:
    assert mask_text(identifier) == identifier


def test_korean_text_glued_to_a_phone_number_is_still_masked() -> None:
    assert "1234" not in mask_text("연락처010-1234-5678입니다")


def test_request_ids_are_never_masked() -> None:
    from aiharness.observability.masking import mask_event_dict

    event = {"request_id": "0d06126012924bb78d9a71deb6e3a897", "event": "x"}
    assert mask_event_dict(None, "info", event) == event
