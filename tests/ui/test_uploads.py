"""Uploads: read once and deleted; metered per visitor over a rolling hour (issue 14, item 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.uploads import UploadMeter, read_upload


def test_an_upload_is_deleted_as_soon_as_it_is_read(tmp_path: Path) -> None:
    upload = tmp_path / "workflow.yaml"
    upload.write_text("version: 1\n" + "#" * 500)
    assert read_upload(upload, 100) == ("version: 1\n" + "#" * 500)[:101]  # one more: the caller sees it is too long
    assert not upload.exists()
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    with pytest.raises(UnicodeDecodeError):
        read_upload(binary, 100)
    assert not binary.exists()  # refused, and gone all the same


def test_the_meter_refuses_past_the_budget_and_frees_up_after_the_window() -> None:
    meter = UploadMeter(budget_bytes=3_000_000, window_s=3600)
    assert [meter.charge("a", 1_000_000, now=t) for t in (0, 1, 2)] == [None, None, None]
    refusal = meter.charge("a", 1_000_000, now=600)
    assert refusal == "upload limit reached: 3 MB per hour per visitor, 0.0 MB left; it frees up in 51 min"
    assert meter.charge("b", 1_000_000, now=600) is None  # another visitor
    assert meter.charge("a", 1_000_000, now=3601) is None  # the first upload left the window
