from pathlib import Path

import pytest

from hub_connector_sdk.testkit import SPECS_ENV, find_specs_dir, provider_spec, spec_file
from hub_connector_sdk.testkit.specs import find_repo_root

pytestmark = pytest.mark.unit


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mini.json").write_text(
        '{"openapi": "3.0.0", "info": {"title": "Mini"}, "paths": {"/a": {"get": {}}}}'
    )
    monkeypatch.setenv(SPECS_ENV, str(tmp_path))

    assert find_specs_dir() == tmp_path
    assert spec_file("mini.json") == tmp_path / "mini.json"
    assert spec_file("absent.json") is None
    assert provider_spec("mini.json").title == "Mini"


def test_otherwise_shared_specs_beside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "main"
    (repo / "libs" / "x").mkdir(parents=True)
    (repo / "uv.lock").write_text("")
    specs = tmp_path / "shared" / "specs"
    specs.mkdir(parents=True)
    monkeypatch.delenv(SPECS_ENV, raising=False)
    monkeypatch.chdir(repo / "libs" / "x")

    assert find_repo_root() == repo
    assert find_specs_dir() == specs


def test_a_missing_description_skips_the_test_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SPECS_ENV, str(tmp_path / "nowhere"))

    with pytest.raises(pytest.skip.Exception) as skipped:
        provider_spec("github-rest.json")

    assert "github-rest.json" in str(skipped.value)
    assert f"{SPECS_ENV}={tmp_path / 'nowhere'}" in str(skipped.value)
