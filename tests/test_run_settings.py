"""RunSettings: one object for everything a run needs, saved with its batch and
read back by resume, reports and (later) presets."""

from __future__ import annotations

import json

import pytest

from batchgui.core import Batch
from batchgui.session import FilterSettings, RunSettings, StopMode


def test_json_round_trip_keeps_every_setting():
    settings = RunSettings(
        operation="image",
        options={"format": "webp", "max_width": 800},
        mode="process",
        workers=3,
        priority="high",
        retries=4,
        backoff_s=0.5,
        timeout_s=30.0,
        rate_per_s=2.5,
        memory_limit=1 << 30,
        filters=FilterSettings(
            extensions=(".jpg", ".png"),
            min_size=10,
            name=r"^IMG_",
            exclude=("drafts/",),
            exclude_regex=("(^|/)tmp/",),
            hidden=True,
        ),
        out="/tmp/small",
        sources=("/photos", "/more photos"),
        dedupe=False,
        force=True,
        on_exists="rename",
        stop_after=10,
        on_interrupt=StopMode.DRAIN,
    )
    text = json.dumps(settings.to_json())
    back = RunSettings.from_json(json.loads(text))
    assert back == settings
    assert back.filters.build().name.pattern == r"^IMG_"
    assert back.retry_policy().max_retries == 4


def test_settings_saved_before_they_had_a_version_still_load():
    # what `run` stored in earlier versions, with the batch's own columns beside it
    old = {
        "workers": 4,
        "retries": 1,
        "backoff": 2.0,
        "priority": "urgent",
        "dedupe": False,
        "sources": ["/data/in"],
        "memory_limit": 2147483648,
    }
    batch = Batch("checksum", [], {"algo": "md5"}, mode="thread", settings=old, timeout_s=9.0)
    settings = RunSettings.of_batch(batch)
    assert settings.operation == "checksum" and settings.options == {"algo": "md5"}
    assert (settings.workers, settings.retries, settings.backoff_s) == (4, 1, 2.0)
    assert settings.priority == "urgent" and settings.dedupe is False
    assert settings.sources == ("/data/in",) and settings.memory_limit == 2147483648
    assert settings.timeout_s == 9.0 and settings.on_exists == "skip"
    assert settings.on_interrupt is StopMode.SAVE


def test_settings_of_a_newer_batchgui_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="newer batchgui"):
        RunSettings.from_json({"version": 99, "operation": "text"})
    with pytest.raises(ValueError, match="on_exists"):
        RunSettings(operation="text", on_exists="clobber")


def test_sizes_and_durations_are_written_one_way():
    from batchgui.session import units

    assert [units.size(n) for n in (0, 1, 1023, 1024, 1536, 5 * 2**30)] == [
        "0 bytes",
        "1 byte",
        "1023 bytes",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 GiB",
    ]
    assert [units.duration(s) for s in (None, -3, 7.4, 754, 3723)] == [
        "–",
        "0:00",
        "0:07",
        "12:34",
        "1:02:03",
    ]
