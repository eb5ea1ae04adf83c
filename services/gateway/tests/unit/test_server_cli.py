"""``hub-gateway serve`` goes to granian (hub_gateway.server); everything else stays run_cli's."""

from __future__ import annotations

import pytest
from granian.log import LogLevels

from hub_gateway import cli, server


def test_serve_goes_to_the_granian_entry(monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setattr(server, "run", lambda argv: seen.append(list(argv)) or 0)
    with pytest.raises(SystemExit) as done:
        cli.main(["serve", "--port", "8123", "--workers", "2"])
    assert done.value.code == 0 and seen == [["--port", "8123", "--workers", "2"]]


def test_other_commands_stay_on_the_shared_cli(monkeypatch):
    monkeypatch.setattr(server, "run", lambda argv: pytest.fail("serve was not asked for"))
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0


def test_a_bad_setting_is_one_line_and_status_2(monkeypatch, capsys):
    monkeypatch.setenv("HUB_PORT", "not-a-port")
    assert server.run([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hub-gateway: error: invalid setting HUB_PORT") and err.count("\n") == 1


def test_log_levels_map_to_granian_names():
    assert server._granian_level("WARNING") is LogLevels.warning
    assert server._granian_level("debug") is LogLevels.debug
    assert server._granian_level("VERBOSE") is LogLevels.info
