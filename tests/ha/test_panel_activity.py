"""Last read bookkeeping of the table view: bounded, and a read counts for rows it covers."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.modbus_server.modbus import IllegalDataAddress
from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.panel import activity as activity_module
from custom_components.modbus_server.panel.activity import MAX_BLOCKS, Activity
from custom_components.modbus_server.registermap import DataType, Point

IR = Area.INPUT_REGISTER


def test_past_the_bound_the_block_recorded_first_goes() -> None:
    activity = Activity()
    for address in range(MAX_BLOCKS):
        activity.record_read(IR, address, 1)
    activity.record_read(IR, 0, 1)  # read again: a new time, its place in the dict kept
    assert len(activity.reads) == MAX_BLOCKS
    activity.record_read(IR, 60000, 1)
    assert len(activity.reads) == MAX_BLOCKS
    assert (IR, 0, 1) not in activity.reads  # recorded first
    assert (IR, 1, 1) in activity.reads
    assert (IR, 60000, 1) in activity.reads
    activity.record_read(IR, 0, 1)  # still polled: back with its next read
    assert (IR, 0, 1) in activity.reads
    assert (IR, 1, 1) not in activity.reads
    assert len(activity.reads) == MAX_BLOCKS


def test_the_recording_reader_records_like_record_read(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(float(t) for t in range(1, 10**6))
    monkeypatch.setattr(activity_module.time, "time", lambda: next(clock))
    inline, reference = Activity(), Activity()
    row = Point(area=IR, address=10, data_type=DataType.FLOAT32, key="f")

    def on_read(request: Any, area: Area, address: int, count: int) -> list[int]:
        if address == 65535:
            raise IllegalDataAddress("not mapped")
        return [address] * count

    recorded = inline.recording(on_read)
    assert recorded(None, IR, 10, 2) == [10, 10]  # type: ignore[arg-type]
    assert inline.last_reads([row]) == {"f": 1.0}
    assert recorded(None, IR, 10, 2) == [10, 10]  # type: ignore[arg-type]
    assert inline.last_reads([row]) == {"f": 2.0}  # a re-read moves the time on
    with pytest.raises(IllegalDataAddress):  # a refused block served no row
        recorded(None, IR, 65535, 1)  # type: ignore[arg-type]
    assert (IR, 65535, 1) not in inline.reads
    # The same bound and eviction as record_read, block for block.
    reference.reads = dict.fromkeys(inline.reads, 0.0)
    for address in (*range(MAX_BLOCKS + 5), 3, 10, MAX_BLOCKS + 9):
        recorded(None, IR, address, 1)  # type: ignore[arg-type]
        reference.record_read(IR, address, 1)
    assert list(inline.reads) == list(reference.reads)
    assert len(inline.reads) == MAX_BLOCKS


def test_a_read_counts_only_for_rows_it_covers_whole() -> None:
    activity = Activity()
    float_row = Point(area=IR, address=10, data_type=DataType.FLOAT32, key="f")
    int_row = Point(area=IR, address=12, data_type=DataType.INT16, key="i")
    coil = Point(area=Area.COIL, address=10, data_type=DataType.BOOL, key="c")
    activity.reads[(IR, 11, 2)] = 100.0  # half of f, all of i
    activity.reads[(IR, 10, 2)] = 50.0  # all of f
    activity.reads[(IR, 0, 125)] = 20.0  # both
    assert activity.last_reads([float_row, int_row, coil]) == {"f": 50.0, "i": 100.0}
