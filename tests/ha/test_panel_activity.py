"""Last read bookkeeping of the table view: bounded, and a read counts for rows it covers."""

from __future__ import annotations

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.panel.activity import MAX_BLOCKS, Activity
from custom_components.modbus_server.registermap import DataType, Point

IR = Area.INPUT_REGISTER


def test_the_oldest_block_is_forgotten_past_the_bound() -> None:
    activity = Activity()
    for address in range(MAX_BLOCKS):
        activity.record_read(IR, address, 1)
    activity.record_read(IR, 0, 1)  # read again: now the most recent
    activity.record_read(IR, 60000, 1)
    assert len(activity.reads) == MAX_BLOCKS
    assert (IR, 1, 1) not in activity.reads
    assert (IR, 0, 1) in activity.reads


def test_a_read_counts_only_for_rows_it_covers_whole() -> None:
    activity = Activity()
    float_row = Point(area=IR, address=10, data_type=DataType.FLOAT32, key="f")
    int_row = Point(area=IR, address=12, data_type=DataType.INT16, key="i")
    coil = Point(area=Area.COIL, address=10, data_type=DataType.BOOL, key="c")
    activity.reads[(IR, 11, 2)] = 100.0  # half of f, all of i
    activity.reads[(IR, 10, 2)] = 50.0  # all of f
    activity.reads[(IR, 0, 125)] = 20.0  # both
    assert activity.last_reads([float_row, int_row, coil]) == {"f": 50.0, "i": 100.0}
