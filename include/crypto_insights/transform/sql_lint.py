"""SQL lint of the dbt project: sqlfluff with its dbt templater, configured by the repository's `.sqlfluff`.

`make lint` runs `python -m crypto_insights.transform.sql_lint`; `--fix` rewrites what sqlfluff can fix. The dbt
templater compiles each model as dbt does, so it needs what every dbt run gets: the `crypto_insights` var rendered
from the config, and a warehouse to compile against (macros read the newest slot of a relation, so every model is
first built empty). Unless $CRYPTO_INSIGHTS_DATABASE_URL names a server, a throwaway embedded PostgreSQL with the
raw schema is started in a temporary home and deleted afterwards: linting never touches the demo's warehouse.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from crypto_insights.paths import DBT_PROJECT_DIR, REPO_ROOT

DEFAULT_PATHS = (DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "tests")


@contextlib.contextmanager
def _compile_warehouse() -> Iterator[None]:
    """The DBT_* environment of a warehouse with the raw schema: the configured one, or a throwaway server."""
    from crypto_insights.postgres.connection import DATABASE_URL_ENV

    saved = dict(os.environ)
    external = bool(os.environ.get(DATABASE_URL_ENV))
    home = tempfile.mkdtemp(prefix="crypto-insights-sql-lint-")  # dbt's target; the throwaway server's home too
    pg = None
    try:
        if not external:
            Path(home).chmod(0o755)  # the PostgreSQL account (when run as root) reaches its cluster under it
            os.environ["CRYPTO_INSIGHTS_HOME"] = home
        import psycopg2

        from crypto_insights.landing.migrations import migrate
        from crypto_insights.postgres.cli import start_and_bootstrap
        from crypto_insights.postgres.connection import endpoint
        from crypto_insights.transform.dbt_runner import dbt_env, run_dbt

        pg = start_and_bootstrap()
        conn = psycopg2.connect(**endpoint("loader").connect_kwargs())
        try:
            migrate(conn)
        finally:
            conn.close()
        os.environ.update(dbt_env())
        target = Path(home) / "dbt"
        os.environ["DBT_TARGET_PATH"] = str(target / "target")
        os.environ["DBT_LOG_PATH"] = str(target / "logs")
        # every relation exists (empty), so the macros that read a relation's newest slot compile as in a real
        # run, incremental branches included
        built = run_dbt(["run", "--empty"], target_path=target / "target")
        if built.returncode != 0:
            raise RuntimeError(f"dbt run --empty failed before the lint:\n{built.stdout[-3000:]}")
        yield
    finally:
        if not external and pg is not None:
            pg.destroy()
        os.environ.clear()
        os.environ.update(saved)
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def lint(paths: Sequence[Path] = DEFAULT_PATHS, *, fix: bool = False) -> list[str]:
    """The violations left in `paths` (after fixing what can be fixed, with `fix`), one line each."""
    from sqlfluff.core import FluffConfig, Linter

    from crypto_insights.transform.dbt_vars import dbt_vars

    with _compile_warehouse():
        config = FluffConfig.from_path(str(REPO_ROOT))
        # What `--vars` gives every dbt run: the dbt templater hands this section to dbt as its cli vars. It is set
        # on the loaded config because a config file can only hold strings, and the var is a mapping.
        config._configs["templater"]["dbt"]["context"] = {"crypto_insights": dbt_vars()}
        result = Linter(config=config).lint_paths(tuple(str(p) for p in paths), fix=fix, apply_fixes=fix)
    found = []
    for record in result.as_records():
        path = os.path.relpath(record["filepath"], REPO_ROOT)
        for v in record["violations"]:
            found.append(f"{path}:{v['start_line_no']}:{v['start_line_pos']}: {v['code']} {v['description']}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crypto_insights.transform.sql_lint", description=__doc__)
    parser.add_argument("--fix", action="store_true", help="rewrite what sqlfluff can fix, then report the rest")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the models and data tests)")
    args = parser.parse_args(argv)
    # dbt's own log lines (e.g. a compile-time query on a relation not built yet) are noise here
    logging.getLogger("dbt").setLevel(logging.ERROR)
    violations = lint(args.paths or DEFAULT_PATHS, fix=args.fix)
    for line in violations:
        print(line)
    print(f"sqlfluff: {len(violations)} violation(s)" + (" left after --fix" if args.fix else ""))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
