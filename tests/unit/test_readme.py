"""The README documents every environment variable the project reads, so a user never has to grep for one."""

from __future__ import annotations

import re

from crypto_insights.paths import REPO_ROOT

VARIABLE = re.compile(r"\bCRYPTO_INSIGHTS_[A-Z][A-Z_]*[A-Z]\b")
SOURCES = ("include", "docker", "bench", "tests/e2e")


def _documented(readme: str) -> set[str]:
    names = set(VARIABLE.findall(readme))
    for prefix, alternatives, suffix in re.findall(r"`(CRYPTO_INSIGHTS_)\{([A-Z_,]+)\}(_[A-Z_]+)`", readme):
        names |= {f"{prefix}{alternative}{suffix}" for alternative in alternatives.split(",")}
    return names


def test_every_variable_read_is_in_the_readme() -> None:
    read: dict[str, str] = {}
    files = [p for folder in SOURCES for p in (REPO_ROOT / folder).rglob("*") if p.suffix in (".py", ".yaml", ".sh")]
    for path in [*files, REPO_ROOT / "docker-compose.yaml", REPO_ROOT / "Makefile"]:
        for name in VARIABLE.findall(path.read_text(errors="replace")):
            read.setdefault(name, str(path.relative_to(REPO_ROOT)))
    missing = {
        name: where for name, where in read.items() if name not in _documented((REPO_ROOT / "README.md").read_text())
    }
    assert not missing, f"read but not in the README's table of variables: {missing}"
