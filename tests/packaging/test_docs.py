"""The documentation stays true: the configuration reference matches the settings code, every
relative link resolves inside the repository, and the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.packaging import config_reference as reference

ROOT = reference.ROOT
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "CONTRIBUTING.md",
                *(ROOT / "docs").glob("*.md")])
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def links(page: Path) -> list[str]:
    """Relative link targets of a page, code blocks left out."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    found = [a or b for a, b in _LINK.findall(text)]
    return [t for t in found if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
        found.add(slug.replace(" ", "-"))
    return found


def test_configuration_reference_matches_the_settings_code() -> None:
    text = reference.PAGE.read_text(encoding="utf-8")
    stale = reference.stale_headings(text)
    assert not stale, f"{reference.PAGE.name} documents sections the code lacks: {stale}"
    fresh = reference.regenerate(text)
    assert fresh == text, ("docs/configuration.md differs from the settings code; run "
                           "python -m tests.packaging.config_reference --write and describe "
                           "every new key")


def test_the_exit_code_table_has_every_code_with_its_meaning() -> None:
    from bot.exit_codes import MEANINGS

    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = text.split("## Exit codes")[1].split("\n## ")[0]
    rows = dict(re.findall(r"^\| (\d+) \| ([^|]+) \|", table, re.M))
    assert sorted(int(c) for c in rows) == sorted(MEANINGS)
    for code, meaning in MEANINGS.items():
        assert rows[str(code)].startswith(meaning.split(" (")[0]), code


def test_takes_effect_says_what_a_sighup_does() -> None:
    from bot.service.reload import needs_restart

    tables = reference.documented(reference.PAGE.read_text(encoding="utf-8"))
    for section in reference.sections():
        name = section.heading.strip("[]").replace(".NAME", "")
        for key in section.keys:
            dotted = f"{name}.{key.key}" if section.heading.count("[") == 1 \
                and "NAME" not in section.heading else f"{name}.NAME.{key.key}"
            wanted = "restart" if needs_restart(dotted) else "reload"
            assert tables[section.heading][key.key][3] == wanted, \
                f"{section.heading} {key.key}: bot/service/reload.py says {wanted}"


def test_every_settings_key_has_a_described_row() -> None:
    tables = reference.documented(reference.PAGE.read_text(encoding="utf-8"))
    for section in reference.sections():
        rows = tables.get(section.heading)
        assert rows is not None, f"no '## {section.heading}' table in configuration.md"
        for key in section.keys:
            cells = rows.get(key.key)
            assert cells, f"{section.heading} {key.key}: no row"
            effect, meaning = cells[3], " ".join(cells[4:])
            assert effect in ("reload", "restart"), f"{section.heading} {key.key}: {effect!r}"
            assert meaning and reference.TODO not in meaning, \
                f"{section.heading} {key.key}: describe the key"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(page: Path) -> None:
    if not page.exists():
        pytest.skip(f"{page.name} not written")
    for target in links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{page.name}: no heading for #{anchor}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_points_at_the_projects_private_specs(page: Path) -> None:
    if page.exists():
        assert "../shared" not in page.read_text(encoding="utf-8")


def test_the_readme_is_at_most_150_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_link_checker_sees_bad_links(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Top\n[a](missing.md) [b](#top) [c](https://x.example/) "
                    "![d](pic.png)\n```\n[e](in-code.md)\n```\n")
    assert links(page) == ["missing.md", "#top", "pic.png"]
    assert anchors(page) == {"top"}
