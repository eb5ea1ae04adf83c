import base64
import logging
import os
import stat
import time

import pytest

from hub_common.errors import ConfigurationError
from hub_vault.adapters.keyring_source import open_keyring_source, write_keyring_file
from hub_vault.domain.errors import KeyringMismatch, KeyringReadOnly
from hub_vault.domain.keyring import dump_keyring_json, new_keyring

pytestmark = pytest.mark.unit


def _open(**kwargs):
    defaults = dict(inline=None, file=None, dev_mode=True, dev_path=None, reload_interval_s=0.0)
    return open_keyring_source(**{**defaults, **kwargs})


def test_dev_mode_creates_a_private_keyring_once(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    from pathlib import Path

    rel = Path(".stack/vault/keyring.json")
    with caplog.at_level(logging.WARNING):
        first = _open(dev_path=rel)
    path = tmp_path / rel
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "created a development keyring" in caplog.text
    second = _open(dev_path=rel)
    assert second.current().keyring == first.current().keyring


def test_production_without_keyring_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigurationError, match="no vault keyring configured") as err:
        _open(dev_mode=False, dev_path=tmp_path / "k.json")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "k.json").exists()


def test_inline_json_and_base64_env(tmp_path):
    keyring = new_keyring()
    text = dump_keyring_json(keyring)
    for inline in (text, base64.b64encode(text.encode()).decode()):
        source = _open(inline=inline, dev_path=tmp_path / "unused.json")
        assert source.current().keyring == keyring
        assert not source.writable
        with pytest.raises(KeyringReadOnly):
            source.update(lambda k: k.rotated())


def test_invalid_env_keyring_names_the_variable(tmp_path):
    with pytest.raises(ConfigurationError, match="HUB_VAULT_KEYRING"):
        _open(inline="{}", dev_path=tmp_path / "x.json")


def test_file_changes_are_picked_up(tmp_path):
    path = tmp_path / "keyring.json"
    keyring = new_keyring()
    write_keyring_file(path, keyring)
    source = _open(file=path)
    other = _open(file=path)  # a second replica reading the same file
    rotated = source.update(lambda k: k.rotated())
    assert rotated.keyring.primary_version == 2
    assert other.current().keyring.primary_version == 2
    assert other.current().primary.version == 2


def test_a_broken_file_keeps_the_last_good_keyring(tmp_path, caplog):
    path = tmp_path / "keyring.toml"
    write_keyring_file(path, new_keyring())
    source = _open(file=path)
    good = source.current().keyring
    path.write_text("garbage that is long enough to change the size")
    with caplog.at_level(logging.ERROR):
        assert source.refresh(force=True).keyring == good
    assert "keyring reload failed" in caplog.text


def test_a_reload_with_another_key_for_a_known_version_is_refused(tmp_path, caplog):
    path = tmp_path / "keyring.json"
    write_keyring_file(path, new_keyring())
    source = _open(file=path)
    good = source.current().keyring
    write_keyring_file(path, new_keyring())  # another key under version 1
    with caplog.at_level(logging.ERROR):
        assert source.refresh().keyring == good
        assert source.refresh().keyring == good  # read and refused again, not skipped
    assert caplog.text.count("keyring reload refused") == 2
    foreign = path.read_text()
    with pytest.raises(KeyringMismatch, match="keyring version 1"):
        source.update(lambda k: k.rotated())  # nothing is built on top of the foreign key
    assert path.read_text() == foreign

    # The database's key checks count too, for versions not in use here (yet).
    elsewhere = good.rotated()  # version 2 as another replica registered it
    source.record({2: elsewhere.versions[2].key_check})
    write_keyring_file(path, good.rotated())  # a different version 2
    assert source.refresh().keyring == good
    write_keyring_file(path, elsewhere)
    assert source.refresh().keyring == elsewhere


def test_toml_files_stay_toml(tmp_path):
    path = tmp_path / "keyring.toml"
    write_keyring_file(path, new_keyring())
    assert "[[keys]]" in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert _open(file=path).current().keyring.primary_version == 1


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read"):
        _open(file=tmp_path / "missing.json")


def test_a_file_that_is_not_utf8_keeps_the_last_good_keyring_and_logs_no_byte(tmp_path, caplog):
    path = tmp_path / "keyring.json"
    write_keyring_file(path, new_keyring())
    source = _open(file=path)
    good = source.current().keyring
    path.write_bytes(path.read_bytes()[:-8] + b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9")
    with caplog.at_level(logging.ERROR):
        assert source.refresh(force=True).keyring == good
        assert source.current().keyring == good  # every request keeps working
    assert "keyring reload failed" in caplog.text and "0xe9" not in caplog.text
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        _open(file=path)  # at startup it is a configuration error, not a crash


def test_a_rotation_between_reading_and_signing_the_file_is_still_picked_up(tmp_path, monkeypatch):
    from hub_vault.adapters import keyring_source

    path = tmp_path / "keyring.json"
    write_keyring_file(path, new_keyring())
    real_load = keyring_source._load_file

    def load_then_rotated_elsewhere(p):
        keyring = real_load(p)
        time.sleep(0.01)  # another replica rotates just after this read
        write_keyring_file(p, keyring.rotated())
        return keyring

    monkeypatch.setattr(keyring_source, "_load_file", load_then_rotated_elsewhere)
    source = _open(file=path)
    monkeypatch.setattr(keyring_source, "_load_file", real_load)
    assert source.current().keyring.primary_version == 2  # the signature was taken before the read
