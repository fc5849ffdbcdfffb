"""The README's mbpoll commands read what the profiles document (Debian's mbpoll)."""

from __future__ import annotations

from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.profiles.compile import compile_profile

from ..conftest import require_tool
from ..modbus.test_interop import mbpoll_values, run
from .helpers import serving


async def test_mbpoll_reads_sdm630_em24_and_dtsu666h_as_the_readme_shows() -> None:
    mbpoll = require_tool("mbpoll")
    values = {"power": -1234.5, "energy_import": 4_200_000.0}
    sdm = compile_profile(PROFILES["eastron_sdm630"], values)
    async with serving(sdm, values) as server:
        # SDM630 total power: input register 0x0034 = 52, float, high word first (-B)
        code, out = await run(
            mbpoll, "-m", "tcp", "-p", str(server.port), "-a", "1", "-1", "-0",
            "-t", "3:float", "-B", "-r", "52", "-c", "1", "127.0.0.1",
        )  # fmt: skip
        assert code == 0, out
        assert mbpoll_values(out) == ["-1234.5"]
    em24 = compile_profile(PROFILES["carlo_gavazzi_em24"], values)
    async with serving(em24, values) as server:
        # EM24 W sys: holding register 0x0028 = 40, int32 low word first (mbpoll's default), x10
        code, out = await run(
            mbpoll, "-m", "tcp", "-p", str(server.port), "-a", "1", "-1", "-0",
            "-t", "4:int", "-r", "40", "-c", "1", "127.0.0.1",
        )  # fmt: skip
        assert code == 0, out
        assert mbpoll_values(out) == ["-12345"]
    huawei = compile_profile(PROFILES["huawei_dtsu666h"], values)
    async with serving(huawei, values) as server:
        code, out = await run(
            mbpoll, "-m", "tcp", "-p", str(server.port), "-a", "11", "-1", "-0",
            "-t", "4", "-r", "2001", "-c", "1", "127.0.0.1",
        )  # fmt: skip
        assert code == 0, out
        assert mbpoll_values(out) == ["15121"]  # 0x3B11
