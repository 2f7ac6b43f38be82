"""Reading rule files and the rule library; which rule file applies to an exercise name.

An exercise name finds one rule file (`Library.find`) or, for a flow, the poses of a family
(`Library.family`: the files whose ``pose.family`` is the name, or one of the names in
:data:`FAMILY_ALIASES`). A family's name never also names a rule file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from rules.errors import RuleFileError
from rules.specs import RuleFile
from rules.validation import validate
from rules.yaml_lines import parse_yaml

#: The library shipped with PoseCoach.
LIBRARY_DIR = Path(__file__).resolve().parent / "library"
#: Other exercise names a coach files a flow under, per pose family.
FAMILY_ALIASES: dict[str, tuple[str, ...]] = {
    "yoga": ("yoga_flow", "vinyasa", "vinyasa_flow", "yoga_sequence", "asana", "asanas"),
}


def load_rule_file(path: str | os.PathLike[str]) -> RuleFile:
    """Read and validate one rule file. Raises RuleFileError (file, line, field, problem)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(str(path), [(0, "", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleFileError(str(path), [(0, "", f"not UTF-8 text: {exc}")]) from None
    data, lines = parse_yaml(text, str(path))
    return validate(data, lines, str(path), sha256=hashlib.sha256(raw).hexdigest())


def rule_files(rules_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files of a rules folder (default: the library), sorted."""
    folder = Path(rules_dir) if rules_dir is not None else LIBRARY_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"rules folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def rules_digest(rules_dir: str | os.PathLike[str] | None = None) -> str:
    """sha256 over the rule files' names and contents: changes whenever any rule file does."""
    digest = hashlib.sha256()
    for path in rule_files(rules_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def normalise_exercise(name: str | None) -> str:
    """Lower case, spaces and dashes to ``_``: ``"Push-Ups"`` -> ``"push_ups"``."""
    return re.sub(r"[\s\-]+", "_", (name or "").strip().lower())


class Library(dict[str, RuleFile]):
    """Rule files by exercise id, with lookup by any alias (see :meth:`find`)."""

    def __init__(self, files: dict[str, RuleFile], digest: str = ""):
        super().__init__(files)
        self.digest = digest
        self._names: dict[str, str] = {}
        self._families: dict[str, str] = {}
        for key, rule in files.items():
            for name in (key, rule.id, *rule.aliases):
                self._names[normalise_exercise(name)] = key
            if rule.pose is not None:
                for name in family_names(rule.pose.family):
                    self._families[name] = rule.pose.family

    def find(self, exercise: str | None) -> RuleFile | None:
        """The rule file for an exercise name (exercise id, rule id or alias; a trailing
        plural ``s`` is forgiven), or None."""
        name = normalise_exercise(exercise)
        for candidate in (name, name.rstrip("s"), name + "s"):
            if candidate in self._names:
                return self[self._names[candidate]]
        return None

    def exercises(self) -> tuple[str, ...]:
        """Every exercise name a video may be filed under: each file's exercise and each pose
        family's name (``yoga``), sorted (aliases left out)."""
        families = {r.pose.family for r in self.values() if r.pose is not None}
        return tuple(sorted({*self, *(normalise_exercise(f) for f in families)}))

    def family(self, exercise: str | None) -> tuple[RuleFile, ...]:
        """The poses of the family an exercise name files a flow under (its name or an alias,
        a trailing plural ``s`` forgiven), sorted by rule id; () when it names no family."""
        name = normalise_exercise(exercise)
        for candidate in (name, name.rstrip("s"), name + "s"):
            if candidate in self._families:
                fam = self._families[candidate]
                poses = (r for r in self.values() if r.pose is not None and r.pose.family == fam)
                return tuple(sorted(poses, key=lambda r: r.id))
        return ()


def family_names(family: str) -> tuple[str, ...]:
    """The exercise names of a pose family: its own and :data:`FAMILY_ALIASES`' (normalised)."""
    return tuple(normalise_exercise(n) for n in (family, *FAMILY_ALIASES.get(family, ())))


def load_library(rules_dir: str | os.PathLike[str] | None = None) -> Library:
    """Load every rule file of a folder (default: the shipped library) keyed by exercise.

    Raises RuleFileError for the first invalid file, or for two files claiming one exercise.
    """
    files: dict[str, RuleFile] = {}
    claimed: dict[str, str] = {}
    for path in rule_files(rules_dir):
        rule = load_rule_file(path)
        for name in (rule.exercise, rule.id, *rule.aliases):
            key = normalise_exercise(name)
            if key in claimed and claimed[key] != str(path):
                raise RuleFileError(
                    str(path), [(0, "exercise", f"{name!r} is already claimed by {claimed[key]}")]
                )
            claimed[key] = str(path)
        files[normalise_exercise(rule.exercise)] = rule
    _check_families(files.values(), claimed)
    return Library(files, digest=rules_digest(rules_dir))


def _check_families(rules: Iterable[RuleFile], claimed: dict[str, str]) -> None:
    """A family's name must not be an exercise's, and its poses share their metrics: a flow
    computes them once for every pose (`rules.poses.flow_metrics`)."""
    defined: dict[tuple[str, str], RuleFile] = {}
    for rule in rules:
        if rule.pose is None:
            continue
        for name, spec in rule.metrics.items():
            other = defined.setdefault((rule.pose.family, name), rule)
            if other.metrics[name] != spec:
                raise RuleFileError(rule.path, [(0, f"metrics.{name}", f"{name!r} is defined "
                                                 f"differently in {other.path}, a pose of the "
                                                 f"same family: poses share their metrics")])  # fmt: skip
        for name in family_names(rule.pose.family):
            if name in claimed:
                raise RuleFileError(rule.path, [(0, "pose.family", f"family name {name!r} is "
                                                 f"already an exercise of {claimed[name]}")])  # fmt: skip
