"""`crypto-insights config check [--config FILE]`: validate the configuration and print it as it takes effect.

Prints the effective configuration as YAML (defaults filled in, `$COINBASE_API_URL` and
`$CRYPTO_INSIGHTS_ALERT_WEBHOOK` applied, the webhook's secret path left out) and exits 0. A bad configuration is one
line on stderr naming the file, the key and what is allowed, and exit status 2 (`crypto_insights.cli`).
"""

from __future__ import annotations

import argparse
import os
from decimal import Decimal
from pathlib import Path

import yaml

from crypto_insights.config import ALERT_WEBHOOK_ENV, API_URL_ENV, Settings, load_settings, settings_document

ENV_OVERRIDES = ((API_URL_ENV, "exchange.api_url"), (ALERT_WEBHOOK_ENV, "alerts.webhook_url"))


class _Dumper(yaml.SafeDumper):
    """Writes `Decimal`s as plain numbers, digits as written (`0.00000001`, `77500.00`; never `1e-08` or quoted)."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    return dumper.represent_scalar("tag:yaml.org,2002:" + ("float" if "." in text else "int"), text)


_Dumper.add_representer(Decimal, _represent_decimal)


def render(settings: Settings) -> str:
    """The effective configuration as YAML, headed by comments saying which file and which overrides."""
    header = [f"# {settings.path}: valid; the configuration as it takes effect"]
    header += [f"# ${env} overrides {key}" for env, key in ENV_OVERRIDES if os.environ.get(env)]
    body = yaml.dump(settings_document(settings), Dumper=_Dumper, sort_keys=False, width=120)
    return "\n".join(header) + "\n" + body


def _check(args: argparse.Namespace) -> int:
    from crypto_insights.transform.dbt_vars import dbt_vars

    settings = load_settings(args.config)
    dbt_vars(settings)  # what dbt is given must render too (it raises ConfigError like the loader)
    print(render(settings), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config", help="check the configuration file", description="Validate the configuration before anything starts."
    )
    commands = parser.add_subparsers(dest="config_command", required=True)
    check = commands.add_parser(
        "check",
        help="validate the configuration and print it as it takes effect",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "--config",
        type=Path,
        default=None,
        help="configuration file (default: $CRYPTO_INSIGHTS_CONFIG or the project's)",
    )
    check.set_defaults(func=_check)
