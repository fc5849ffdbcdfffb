"""The address table: typed points, scaling, word/byte order, block lookup, import/export.

No network code and no Home Assistant imports: the HA glue and the tests use it directly.
Modules, one job each:

* `datatypes` - data types, word/byte orders, raw register codecs (struct based)
* `codec`     - engineering value <-> registers for one point (coercion, scaling, rounding)
* `plc`       - 1-based PLC references (40001 ...)
* `points`    - the Point model and per-field validation
* `table`     - the compiled map serving block reads and all-or-nothing block writes
* `io`        - CSV and JSON import/export
"""

from __future__ import annotations

from .codec import ValueCodec
from .datatypes import (
    LAYOUTS,
    UNAVAILABLE,
    ByteOrder,
    DataType,
    DecodingError,
    EncodingError,
    WordOrder,
    layout_name,
    orders_from_layout,
)
from .io import (
    SETTING_COLUMNS,
    ImportedRow,
    ImportFormatError,
    ImportIssue,
    export_csv,
    export_json,
    import_csv,
    import_csv_rows,
    import_json,
    import_json_rows,
)
from .plc import format_plc_address, parse_plc_address, plc_address
from .points import FieldError, MapValidationError, Point, validate_point, validate_points
from .table import Provider, RegisterMap, UnmappedPolicy

__all__ = [
    "LAYOUTS",
    "SETTING_COLUMNS",
    "UNAVAILABLE",
    "ByteOrder",
    "DataType",
    "DecodingError",
    "EncodingError",
    "FieldError",
    "ImportFormatError",
    "ImportIssue",
    "ImportedRow",
    "MapValidationError",
    "Point",
    "Provider",
    "RegisterMap",
    "UnmappedPolicy",
    "ValueCodec",
    "WordOrder",
    "export_csv",
    "export_json",
    "format_plc_address",
    "import_csv",
    "import_csv_rows",
    "import_json",
    "import_json_rows",
    "layout_name",
    "orders_from_layout",
    "parse_plc_address",
    "plc_address",
    "validate_point",
    "validate_points",
]
