"""The rules in force: load them from the rule folders, swap them into the engine, reload safely.

:class:`RuleSet` holds the last good set. ``reload()`` reads every rule file again and hands
the result to the engine in one ``engine.load`` call (the engine swaps its compiled rules
atomically). A reload never makes things worse:
- a rule that now has an error keeps its previous version (reported as "kept");
- a file that can no longer be read or parsed keeps all the rules it had;
- an unexpected failure (of the loader or the engine) keeps the whole previous set.

Used at start, on ``SIGHUP`` (``atsd-bot serve`` handles the signal: bot/cli/serve.py and
bot/service/reload.py) and after an import
(:meth:`RuleSet.import_file`, called by ``atsd-bot rules import`` and the UI), which
validates a file, refuses it when it has errors or clashes with existing rule names, and
writes it into the first rule folder.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from rules.command import utcnow
from rules.definitions.loader import RuleIssue, errors_of, load_bytes, load_rules
from rules.definitions.model import Rule

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool  # False: nothing changed, the previous rules stay in force
    rules: tuple[Rule, ...] = ()
    issues: tuple[RuleIssue, ...] = ()
    kept: tuple[str, ...] = ()  # rules whose previous version stays because the new one is bad
    at: datetime = field(default_factory=utcnow)
    error: str = ""

    def summary(self) -> str:
        if not self.ok:
            return f"rules not reloaded, the previous rules stay in force: {self.error}"
        errors = len(errors_of(self.issues))
        text = (f"{len(self.rules)} rules loaded, {errors} errors, "
                f"{len(self.issues) - errors} warnings")
        if self.kept:
            text += f"; previous version kept for: {', '.join(self.kept)}"
        return text


@dataclass(frozen=True)
class ImportResult:
    ok: bool
    path: Path | None = None  # where the file was written
    rules: tuple[str, ...] = ()  # names of the imported rules
    issues: tuple[RuleIssue, ...] = ()
    reload: ReloadResult | None = None


class RuleSet:
    """The rules loaded from ``paths`` and, when an engine is attached, running in it."""

    def __init__(
        self, paths: Sequence[str | Path], *, endpoints: Collection[str] | None = None,
        base_dir: Path | None = None, engine: Any = None,
    ) -> None:
        self.paths = tuple(paths)
        self.endpoints = None if endpoints is None else frozenset(endpoints)
        self.base_dir = base_dir
        self.engine = engine  # rules.engine.rule_engine.RuleEngine, or None to load and check only
        self._lock = threading.Lock()  # one reload at a time
        # one import at a time: two imports must not both pass the name-clash check
        self._import_lock = threading.Lock()
        self._rules: tuple[Rule, ...] = ()
        self._last: ReloadResult | None = None

    @classmethod
    def from_settings(cls, settings: Any, engine: Any = None) -> RuleSet:
        """From ``bot.config.Settings``: its rule paths and configured endpoint names."""
        return cls(settings.rules.paths, endpoints=settings.endpoints.keys(),
                   base_dir=settings.base_dir, engine=engine)

    def rules(self) -> list[Rule]:
        """Every loaded rule, including disabled ones (the engine may run fewer)."""
        return list(self._rules)

    def last(self) -> ReloadResult | None:
        return self._last

    def issues(self) -> list[RuleIssue]:
        return list(self._last.issues) if self._last else []

    def reload(self) -> ReloadResult:
        with self._lock:
            try:
                result = self._reload()
            except Exception as exc:  # keep serving with the rules we have
                log.exception("rule reload failed; the previous rules stay in force")
                result = ReloadResult(ok=False, rules=self._rules,
                                      error=f"{type(exc).__name__}: {exc}")
            self._last = result
            if result.ok:
                self._rules = result.rules
            log.info("%s", result.summary())
            for issue in result.issues:
                log.log(logging.WARNING if issue.level == "error" else logging.INFO, "%s", issue)
            return result

    def _reload(self) -> ReloadResult:
        rules, issues = load_rules(self.paths, endpoints=self.endpoints, base_dir=self.base_dir)
        rules, kept = self._keep_previous(rules, issues)
        if self.engine is not None:
            issues += self._engine_issues(self.engine.load(rules), rules, issues)
        return ReloadResult(ok=True, rules=tuple(rules), issues=tuple(issues), kept=kept)

    def _keep_previous(
        self, rules: list[Rule], issues: list[RuleIssue]
    ) -> tuple[list[Rule], tuple[str, ...]]:
        broken_files = {i.origin for i in errors_of(issues) if not i.rule}
        broken_rules = {(i.origin, i.rule) for i in errors_of(issues) if i.rule}
        present = {r.name for r in rules}
        kept = [old for old in self._rules if old.name not in present
                and (old.origin in broken_files or (old.origin, old.name) in broken_rules)]
        return rules + kept, tuple(r.name for r in kept)

    @staticmethod
    def _engine_issues(errors: Sequence[Any], rules: Sequence[Rule],
                       known: Sequence[RuleIssue]) -> list[RuleIssue]:
        """``RuleLoadError``s of the engine as issues (a disabled rule's are warnings).

        A disabled rule the loader already warned about (an imported ATSD series rule) is
        expected not to compile: its engine errors would only repeat those warnings.
        """
        by_name = {r.name: r for r in rules}
        warned = {i.rule for i in known}
        issues: list[RuleIssue] = []
        for error in errors or ():
            name = str(getattr(error, "rule", ""))
            rule = by_name.get(name)
            if rule is not None and not rule.enabled and name in warned:
                continue
            level: Literal["error", "warning"] = (
                "warning" if rule is not None and not rule.enabled else "error")
            issues.append(RuleIssue(rule.origin if rule else "", name,
                                    str(getattr(error, "field", "")),
                                    str(getattr(error, "message", error)), level))
        return issues

    # -- import -------------------------------------------------------------------------

    def rules_dir(self) -> Path:
        """The first configured rule path that is (or will be) a folder: imports go there."""
        first = Path(self.paths[0]) if self.paths else Path("rules.d")
        if not first.is_absolute() and self.base_dir is not None:
            first = self.base_dir / first
        return first.parent if first.suffix.lower() in (".yml", ".yaml", ".xml") else first

    def import_file(self, filename: str, data: bytes, *, replace: bool = False) -> ImportResult:
        """Check a YAML or ATSD XML rule file, write it into the rule folder, then reload.

        Refused (nothing written) when the file has errors, holds no rules, uses a rule name
        that another file already defines, or exists already and ``replace`` is false.
        """
        with self._import_lock:
            return self._import(filename, data, replace)

    def _import(self, filename: str, data: bytes, replace: bool) -> ImportResult:
        name = _SAFE_NAME.sub("_", Path(filename).name).lstrip(".") or "imported.yml"
        suffix = Path(name).suffix.lower()
        if suffix not in (".yml", ".yaml", ".xml"):
            return _refused(filename, "expected a .yml, .yaml or .xml rule file")
        target = self.rules_dir() / name
        fmt: Literal["yaml", "xml"] = "xml" if suffix == ".xml" else "yaml"
        rules, issues = load_bytes(data, str(target), fmt=fmt, endpoints=self.endpoints)
        if errors_of(issues):
            return ImportResult(ok=False, issues=tuple(issues))
        if not rules:
            return _refused(str(target), "the file holds no rules", issues)
        if target.exists() and not replace:
            return _refused(str(target), "a rule file of this name exists; replace it "
                            "explicitly (--replace)", issues)
        clashes = self._clashes(rules, target)
        if clashes:
            return ImportResult(ok=False, issues=tuple(issues) + tuple(clashes))
        _write_atomically(target, data)
        reload = self.reload()
        return ImportResult(ok=True, path=target, rules=tuple(r.name for r in rules),
                            issues=tuple(issues), reload=reload)

    def _clashes(self, rules: Sequence[Rule], target: Path) -> list[RuleIssue]:
        existing, _ = load_rules(self.paths, endpoints=None, base_dir=self.base_dir)
        elsewhere = {r.name: r.origin for r in existing
                     if Path(r.origin).resolve() != target.resolve()}
        return [RuleIssue(r.origin, r.name, "name", "a rule of this name is already defined "
                          f"in {elsewhere[r.name]}") for r in rules if r.name in elsewhere]


def _refused(origin: str, message: str, issues: Sequence[RuleIssue] = ()) -> ImportResult:
    return ImportResult(ok=False, issues=tuple(issues) + (RuleIssue(origin, "", "", message),))


def _write_atomically(target: Path, data: bytes) -> None:
    # A reader (a reload running now) sees the old file or the new one, never half of it.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".import-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
