"""`crypto-insights config check`: the effective configuration as YAML, or one line and exit status 2."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crypto_insights.cli import main
from crypto_insights.config import load_settings
from crypto_insights.paths import DEFAULT_CONFIG_PATH


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["config", "check", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_prints_the_effective_config_which_loads_back_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COINBASE_API_URL", "http://127.0.0.1:8765/")
    status, out, err = check(capsys)
    assert (status, err) == (0, "")
    assert out.startswith(f"# {DEFAULT_CONFIG_PATH}: valid") and "# $COINBASE_API_URL overrides exchange.api_url" in out
    document = yaml.safe_load(out)
    assert document["exchange"]["api_url"] == "http://127.0.0.1:8765"
    assert document["symbols"]["LINK-USD"]["quote_increment"] == 0.001  # a plain number, as in the file
    assert "0.00000001" in out and "e-08" not in out
    printed = tmp_path / "printed.yaml"
    printed.write_text(out)
    assert dataclasses.replace(load_settings(printed), path=DEFAULT_CONFIG_PATH) == load_settings()


def test_defaults_are_filled_in_and_the_webhook_secret_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    data["symbols"] = {"BTC-USD": {k: v for k, v in data["symbols"]["BTC-USD"].items() if k != "simulated"}}
    path = tmp_path / "btc.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("CRYPTO_INSIGHTS_ALERT_WEBHOOK", "https://hooks.example.com/services/T0/B0/s3cr3t")
    status, out, _ = check(capsys, "--config", str(path))
    assert status == 0 and "s3cr3t" not in out
    document = yaml.safe_load(out)
    assert document["alerts"]["webhook_url"] == "https://hooks.example.com/..."
    assert document["symbols"]["BTC-USD"]["simulated"] == {"start_price": 100000.0, "levels_per_side": 2000}


def test_a_bad_config_is_one_line_and_exit_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(DEFAULT_CONFIG_PATH.read_text().replace("levels_per_side: 8000", "levels_per_sid: 8000"))
    status, out, err = check(capsys, "--config", str(path))
    assert (status, out) == (2, "")
    assert err == (
        f"configuration error: {path}: `symbols.SOL-USD.simulated.levels_per_sid` is not a known key; "
        "did you mean `levels_per_side`?\n"
    )


def test_the_installed_command_runs_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crypto_insights.cli", "config", "check", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "configuration file not found" in result.stderr
