"""`crypto-insights exchange`: flags, and a real process that serves until SIGTERM."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from crypto_insights.exchange import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["exchange", *argv])


def test_defaults_are_coinbase_limits_and_the_demo_port() -> None:
    args = parse()
    assert (args.host, args.port, args.seed, args.replay) == ("127.0.0.1", 8765, 7, None)
    assert (args.rate_limit, args.burst, args.fault) == (10, 15, [])
    assert args.func is cli.run


def test_every_flag_parses() -> None:
    args = parse(
        "--port",
        "0",
        "--host",
        "0.0.0.0",
        "--seed",
        "42",
        "--replay",
        "/tmp/captures",
        "--fault",
        "/products/BTC-USD/book=server_error:2,status=502",
        "--fault",
        "/products/*/ticker=delay,seconds=0.5",
        "--rate-limit",
        "0",
        "--burst",
        "3",
    )
    assert (args.port, args.host, args.seed, args.replay) == (0, "0.0.0.0", 42, Path("/tmp/captures"))
    assert args.fault == [
        ("/products/BTC-USD/book", "server_error", 2, {"status": 502}),
        ("/products/*/ticker", "delay", None, {"seconds": 0.5}),
    ]
    assert (args.rate_limit, args.burst) == (0, 3)


@pytest.mark.parametrize("argv", [["--fault", "server_error"], ["--burst", "0"], ["--port", "x"]])
def test_bad_flags_exit_with_usage(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2 and "usage:" in capsys.readouterr().err


def test_build_server_switches_faults_on_and_lifts_the_limit(http) -> None:
    args = parse("--port", "0", "--rate-limit", "0", "--fault", "/products/ETH-USD/ticker=server_error:1,status=502")
    server = cli.build_server(args).start()
    try:
        assert server.throttle.rate is None
        assert http.get(f"{server.url}/products/ETH-USD/ticker").status_code == 502
        assert http.get(f"{server.url}/products/ETH-USD/ticker").status_code == 200
    finally:
        server.stop()


def test_an_unknown_fault_kind_stops_before_serving() -> None:
    with pytest.raises(SystemExit, match="unknown fault kind 'boom'"):
        cli.build_server(parse("--port", "0", "--fault", "/products=boom"))


def test_the_project_cli_has_the_subcommand() -> None:
    from crypto_insights.cli import build_parser

    args = build_parser().parse_args(["exchange", "--port", "9999", "--seed", "3"])
    assert (args.port, args.seed, args.func) == (9999, 3, cli.run)


def test_runs_in_the_foreground_until_sigterm(tmp_path) -> None:
    log = tmp_path / "exchange.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crypto_insights.exchange.cli",
                "--port",
                "0",
                "--seed",
                "5",
                "--control",
                "--fault",
                "/products/BTC-USD=server_error:1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.1)
        assert url, log.read_text()
        headers = {"User-Agent": "cli-test"}
        assert requests.get(f"{url}/products/BTC-USD", headers=headers, timeout=5).status_code == 503
        assert requests.get(f"{url}/products/BTC-USD", headers=headers, timeout=5).status_code == 200
        assert requests.get(f"{url}/_control/stats", timeout=5).json()["seed"] == 5
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert "stopping the offline exchange" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_taken_port_is_an_error_that_says_what_to_do(exchange, caplog) -> None:
    assert cli.run(parse("--port", str(exchange.port))) == 1
    assert "choose another port" in caplog.text


def test_chaos_and_control_are_off_by_default(monkeypatch) -> None:
    monkeypatch.delenv(cli.CHAOS_ENV, raising=False)
    monkeypatch.delenv(cli.CONTROL_ENV, raising=False)
    server = cli.build_server(parse("--port", "0"))
    try:
        assert (server.chaos, server.control, len(server.faults)) == (None, False, 0)
    finally:
        server.stop()


@pytest.mark.parametrize(("text", "rate"), [("0.05", 0.05), ("5%", 0.05), ("0", 0.0), ("1", 1.0)])
def test_chaos_rate_parses(text, rate) -> None:
    assert parse("--chaos", text).chaos == pytest.approx(rate)


@pytest.mark.parametrize("text", ["-0.1", "1.5", "often", "150%"])
def test_a_bad_chaos_rate_is_a_usage_error(text, capsys) -> None:
    with pytest.raises(SystemExit):
        parse("--chaos", text)
    assert "chaos rate is a share of requests" in capsys.readouterr().err


def test_chaos_and_control_from_the_environment(monkeypatch, http) -> None:
    monkeypatch.setenv(cli.CHAOS_ENV, "0.1")
    monkeypatch.setenv(cli.CONTROL_ENV, "1")
    server = cli.build_server(parse("--port", "0", "--seed", "3")).start()
    try:
        assert (server.chaos, server.control) == (0.1, True)
        stats = http.get(f"{server.url}/_control/stats").json()
        assert stats["chaos"] == 0.1 and all(f["probability"] > 0 for f in stats["faults"])
    finally:
        server.stop()
    off = cli.build_server(parse("--port", "0", "--chaos", "0"))
    off.stop()
    assert off.chaos is None  # the flag wins over the environment


def test_a_bad_chaos_environment_stops_before_serving(monkeypatch) -> None:
    monkeypatch.setenv(cli.CHAOS_ENV, "lots")
    with pytest.raises(SystemExit, match=cli.CHAOS_ENV):
        cli.build_server(parse("--port", "0"))
