"""Post-assessment (后评估) of counties: scorecards, composite scores, ranks with uncertainty, grades.

Provinces score and rank their counties every year on four dimensions (责任落实, 政策落实, 工作落实,
成效巩固) and grade them (好 / 较好 / 一般 / 差). No province publishes its weights, so the whole indicator
system is configuration: ``analysis/config/assessment.yaml`` (or a user's copy), loaded and checked by
:func:`load_system`.

The module works on an *indicator table*: one row per county x year, the geography columns, ``year``
and one column per indicator code. :func:`compute_indicators` builds it from household and member
records through a *registry* (indicator-table name -> function), which is also what the bootstrap
re-runs on resampled households.

The construction follows the OECD/JRC *Handbook on Constructing Composite Indicators* (OECD 2008):
normalise each indicator among peers, aggregate by weighted arithmetic means, then test how much the
ranking owes to sampling (bootstrap; Goldstein and Spiegelhalter 1996; Hall and Miller 2009) and to the
weights (Saisana, Saltelli and Tarantola 2005).

Examples
--------
>>> from analysis.studies import assessment
>>> system = assessment.load_system()
>>> [d.code for d in system.dimensions]
['responsibility', 'policy', 'work', 'results']
>>> system.labels("en")["results"]
'Gains consolidated'
"""
from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from analysis.config import config_path
from analysis.core.checks import require_columns
from analysis.errors import DataError, Problem
from analysis.io.schema import GEOGRAPHY
from analysis.measures import indicators, monitoring, poverty
from analysis.studies import assessment_sums as sums

DIRECTIONS = ("higher_better", "lower_better")
NORMALISATIONS = ("scale", "target", "minmax", "zscore")
#: Normalisations whose score depends on the other counties of the run (labelled "relative" on pages);
#: ``scale`` and ``target`` use fixed values from the indicator file, so a county's score is its own.
RELATIVE = ("minmax", "zscore")
FLAGS = ("strength", "weakness", "neutral")
STATEMENTS = ("unranked", "no_peers", "clearly_first", "clearly_last", "tied_first", "tied_last",
              "possibly_first", "possibly_last", "middle")

# A county with no spread among its peers on an indicator sits at the middle of the 0-100 scale.
_NO_SPREAD_SCORE = 50.0
# Composite and indicator scores are compared after rounding, so that float noise in weighted sums
# does not split what are arithmetically ties.
_DECIMALS = 9
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")

Registry = Mapping[str, Callable[[pd.DataFrame, pd.DataFrame, tuple[str, ...]], pd.DataFrame]]


# --------------------------------------------------------------------------------------------------
# The indicator system
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dimension:
    """One assessment dimension (e.g. ``results`` = 成效巩固) and its relative weight."""

    code: str
    label_zh: str
    label_en: str
    weight: float


@dataclass(frozen=True)
class Indicator:
    """One indicator: where its value comes from and how it is scored.

    ``source`` names an indicator table and ``column`` a column of it; with ``per`` (another column of
    the same table) the value is ``column / per * scale``, else ``column * scale``. ``relative_to`` (a
    geography column such as ``prefecture``) makes the value the county's minus the same quantity
    computed on its whole ``relative_to`` area. ``target`` and ``tolerance`` are set only when
    ``normalisation`` is ``target``; ``best`` and ``worst`` (the values scoring 100 and 0) only when it
    is ``scale``, with ``reference`` saying where those values come from. ``official_source`` names
    the official document defining the indicator, where one exists.
    """

    code: str
    label_zh: str
    label_en: str
    dimension: str
    source: str
    column: str
    direction: str
    normalisation: str
    weight: float
    target: float | None = None
    tolerance: float | None = None
    relative_to: str | None = None
    per: str | None = None
    scale: float = 1.0
    best: float | None = None
    worst: float | None = None
    reference: str | None = None
    official_source: str | None = None
    denominator: tuple[str, ...] = ()
    form: str = "ratio"
    events: bool = False
    of: str | None = None

    @property
    def relative(self) -> bool:
        """True when the score depends on the other counties of the run (min-max or z-score)."""
        return self.normalisation in RELATIVE


@dataclass(frozen=True)
class Grade:
    """A grade band: composite scores from ``min_score`` up to the next better band's ``min_score``."""

    code: str
    label_zh: str
    label_en: str
    min_score: float


@dataclass(frozen=True)
class System:
    """A validated indicator system (see ``analysis/config/assessment.yaml`` for the meaning of each field).

    ``grades`` are ordered best first. ``scoring`` holds ``zscore_centre``, ``zscore_scale`` and
    ``flag_parts``; ``bootstrap`` holds ``replicates``, ``seed``, ``level`` and ``within``. Each
    indicator's ``source`` names an entry of :data:`SOURCES` (or of a registry passed to
    :func:`compute_indicators`).
    """

    dimensions: tuple[Dimension, ...]
    indicators: tuple[Indicator, ...]
    grades: tuple[Grade, ...]
    scoring: Mapping[str, float]
    bootstrap: Mapping[str, object]
    path: str
    few_events: Mapping[str, object] = dataclasses.field(
        default_factory=lambda: {"method": "none", "min_events": 5})

    @property
    def indicator_codes(self) -> list[str]:
        return [i.code for i in self.indicators]

    def labels(self, lang: str = "zh") -> dict[str, str]:
        """Display label of every dimension, indicator and grade code, in ``lang`` ('zh' or 'en')."""
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
        items = (*self.dimensions, *self.indicators, *self.grades)
        return {item.code: getattr(item, f"label_{lang}") for item in items}

    def with_weights(self, dimensions: Mapping[str, float] | None = None,
                     indicators: Mapping[str, float] | None = None) -> System:
        """A copy with some dimension and/or indicator weights replaced (codes -> new weights)."""
        dimensions, indicators = dict(dimensions or {}), dict(indicators or {})
        unknown = (set(dimensions) - {d.code for d in self.dimensions}) | (
            set(indicators) - set(self.indicator_codes))
        if unknown:
            raise ValueError(f"unknown dimension or indicator code(s) {sorted(unknown)}")
        dims = tuple(dataclasses.replace(d, weight=float(dimensions.get(d.code, d.weight)))
                     for d in self.dimensions)
        inds = tuple(dataclasses.replace(i, weight=float(indicators.get(i.code, i.weight)))
                     for i in self.indicators)
        return dataclasses.replace(self, dimensions=dims, indicators=inds)

    def relative(self) -> System:
        """A copy with every indicator normalised min-max among the counties of the run (relative scores).

        The alternative normalisation of the sensitivity analysis: a county's scores then depend on
        which other counties are in the run.
        """
        inds = tuple(dataclasses.replace(i, normalisation="minmax", target=None, tolerance=None, best=None,
                                         worst=None) for i in self.indicators)
        return dataclasses.replace(self, indicators=inds)


_SECTIONS = {
    "dimensions": ({"code", "label_zh", "label_en", "weight"}, set()),
    "indicators": ({"code", "label_zh", "label_en", "dimension", "source", "column", "direction",
                    "normalisation", "weight"}, {"target", "tolerance", "relative_to", "per", "scale", "best",
                                                  "worst", "reference", "official_source", "denominator",
                                                  "form", "events", "of"}),
    "grades": ({"code", "label_zh", "label_en", "min_score"}, set()),
}
_TOP_KEYS = ("dimensions", "indicators", "grades", "scoring", "bootstrap")
_OPTIONAL_TOP_KEYS = ("few_events",)
_FEW_EVENT_KEYS = ("method", "min_events")
_SCORING_KEYS = ("zscore_centre", "zscore_scale", "flag_parts")
_BOOTSTRAP_KEYS = ("replicates", "seed", "level", "within")


def load_system(path: str | Path | None = None) -> System:
    """Load and check an indicator system file.

    Parameters
    ----------
    path : str or Path, optional
        A user's YAML file. By default the shipped ``analysis/config/assessment.yaml``, or the file of
        that name in ``$ANALYSIS_CONFIG_DIR`` when there is one.

    Returns
    -------
    System

    Raises
    ------
    DataError
        Listing every problem found; each :class:`~analysis.errors.Problem` names the file, the YAML
        line (``row``), the key path (``column``, e.g. ``indicators[3].direction``, 0-based) and what
        is allowed.
    """
    path = Path(path) if path is not None else config_path("assessment.yaml")
    if not path.is_file():
        raise DataError(Problem(str(path), None, None, "indicator system file not found"))
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _SYSTEMS:
        _SYSTEMS.clear()
        _SYSTEMS[key] = _load_system(path)
    return _SYSTEMS[key]


# The last system loaded, by (file, modification time, size): reports ask for it many times per page.
_SYSTEMS: dict[tuple, System] = {}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_system(path: Path) -> System:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(Problem(str(path), mark.line + 1 if mark else None, None,
                                f"not valid YAML: {exc}")) from None
    checker = _Checker(str(path), root)
    system = checker.system(data)
    if checker.problems:
        raise DataError(checker.problems)
    return system


class _Checker:
    """Collects every problem of an indicator-system file, each located by key path and line."""

    def __init__(self, file: str, root: yaml.Node | None):
        self.file = file
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}
        if root is not None:
            self._walk(root, "")

    def _walk(self, node: yaml.Node, path: str) -> None:
        if path:
            self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                if key.value in seen:
                    self.add(sub, f"key {key.value!r} appears twice; keep one", key.start_mark.line + 1)
                seen.add(key.value)
                self.lines.setdefault(sub, key.start_mark.line + 1)
                self._walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, f"{path}[{i}]")

    def add(self, path: str, message: str, line: int | None = None) -> None:
        probe = path
        while line is None and probe:
            line = self.lines.get(probe)
            probe = re.sub(r"(\.[^.\[\]]+|\[\d+\]|^[^.\[\]]+)$", "", probe)
        self.problems.append(Problem(self.file, line, path or None, message))

    def mapping(self, obj, path: str, required, optional=()) -> dict | None:
        if not isinstance(obj, dict):
            self.add(path, f"must be a mapping of keys {sorted(required)}, not {type(obj).__name__}")
            return None
        allowed = set(required) | set(optional)
        for key in obj:
            if key not in allowed:
                self.add(_join(path, key), f"unknown key {key!r}; allowed keys: {sorted(allowed)}")
        for key in sorted(set(required) - set(obj)):
            self.add(_join(path, key), f"required key {key!r} is missing")
        return obj

    def number(self, obj: dict, key: str, path: str, low: float | None = None,
               low_open: bool = False, high: float | None = None, high_open: bool = False,
               integer: bool = False) -> float | None:
        if key not in obj:
            return None
        value, where = obj[key], _join(path, key)
        kind = "an integer" if integer else "a number"
        ok_type = (isinstance(value, int) if integer else isinstance(value, int | float))
        if isinstance(value, bool) or not ok_type or not math.isfinite(value):
            self.add(where, f"must be {kind}, not {value!r}")
            return None
        if low is not None and (value <= low if low_open else value < low):
            self.add(where, f"must be {'above' if low_open else 'at least'} {low}, not {value}")
            return None
        if high is not None and (value >= high if high_open else value > high):
            self.add(where, f"must be {'below' if high_open else 'at most'} {high}, not {value}")
            return None
        return float(value) if not integer else int(value)

    def text(self, obj: dict, key: str, path: str, code: bool = False) -> str | None:
        if key not in obj:
            return None
        value = obj[key]
        if not isinstance(value, str) or not value.strip():
            self.add(_join(path, key), f"must be a non-empty text, not {value!r}")
            return None
        if code and not _CODE.match(value):
            self.add(_join(path, key), f"{value!r} is not a code: use lower-case letters, digits and _ "
                                       "(starting with a letter)")
            return None
        return value

    def choice(self, obj: dict, key: str, path: str, allowed) -> str | None:
        if key in obj and obj[key] not in allowed:
            self.add(_join(path, key), f"must be one of {list(allowed)}, not {obj[key]!r}")
            return None
        return obj.get(key)

    # ---- sections ------------------------------------------------------------------------------

    def system(self, data) -> System | None:
        top = self.mapping(data, "", _TOP_KEYS, _OPTIONAL_TOP_KEYS)
        if top is None:
            return None
        dims = self.items(top.get("dimensions"), "dimensions", self.dimension)
        dim_codes = {d.code for _, d in dims}
        inds = self.items(top.get("indicators"), "indicators",
                          lambda o, p: self.indicator(o, p, dim_codes))
        grades = self.items(top.get("grades"), "grades", self.grade)
        for section, items in (("dimensions", dims), ("indicators", inds), ("grades", grades)):
            self.duplicates(items, section)
        self.same_information(inds)
        self.weights(dims, [i for _, i in inds])
        self.bands(grades)
        scoring = self.scoring(top.get("scoring"))
        boot = self.boot(top.get("bootstrap"))
        few = self.few(top.get("few_events"))
        if self.problems:
            return None
        return System(tuple(d for _, d in dims), tuple(i for _, i in inds), tuple(g for _, g in grades),
                      scoring, boot, self.file, few)

    def items(self, seq, name: str, build) -> list[tuple[int, object]]:
        """The valid entries of a list section, each with its position in the file."""
        if seq is None:
            return []
        if not isinstance(seq, list) or not seq:
            self.add(name, "must be a non-empty list")
            return []
        built = [(i, build(obj, f"{name}[{i}]")) for i, obj in enumerate(seq)]
        return [(i, b) for i, b in built if b is not None]

    def _common(self, obj, path: str, section: str):
        required, optional = _SECTIONS[section]
        if self.mapping(obj, path, required, optional) is None:
            return None
        n = len(self.problems)
        common = (self.text(obj, "code", path, code=True), self.text(obj, "label_zh", path),
                  self.text(obj, "label_en", path))
        return common if len(self.problems) == n and set(required) <= set(obj) else None

    def dimension(self, obj, path: str) -> Dimension | None:
        common = self._common(obj, path, "dimensions")
        weight = self.number(obj, "weight", path, low=0) if isinstance(obj, dict) else None
        return Dimension(*common, weight) if common and weight is not None else None

    def indicator(self, obj, path: str, dims: set) -> Indicator | None:
        common = self._common(obj, path, "indicators")
        if not isinstance(obj, dict):
            return None
        n = len(self.problems)
        weight = self.number(obj, "weight", path, low=0)
        direction = self.choice(obj, "direction", path, DIRECTIONS)
        norm = self.choice(obj, "normalisation", path, NORMALISATIONS)
        self.choice(obj, "relative_to", path, GEOGRAPHY)
        self.text(obj, "column", path)
        self.text(obj, "per", path)
        scale = self.number(obj, "scale", path, low=0, low_open=True) if "scale" in obj else 1.0
        if "dimension" in obj and (not isinstance(obj["dimension"], str) or obj["dimension"] not in dims):
            self.add(_join(path, "dimension"), f"{obj['dimension']!r} is not a dimension code of this "
                                               f"file; known: {sorted(dims)}")
        if "source" in obj and (not isinstance(obj["source"], str) or not _CODE.match(obj["source"])):
            self.add(_join(path, "source"), f"{obj['source']!r} is not the name of an indicator table; "
                                            f"the shipped ones: {sorted(SOURCES)}")
        target = tolerance = best = worst = None
        needs = {"target": ("target", "tolerance"), "scale": ("best", "worst")}
        for kind, keys in needs.items():
            for key in keys:
                if norm == kind and key not in obj:
                    self.add(_join(path, key), f"required key {key!r} is missing (normalisation: {kind} "
                                               f"needs {' and '.join(keys)})")
                elif norm != kind and key in obj:
                    self.add(_join(path, key), f"{key!r} is only used with normalisation: {kind}")
        if norm == "target":
            target = self.number(obj, "target", path)
            tolerance = self.number(obj, "tolerance", path, low=0, low_open=True)
        elif norm == "scale":
            best, worst = self.number(obj, "best", path), self.number(obj, "worst", path)
            if best is not None and worst is not None and direction in DIRECTIONS and (
                    best <= worst if direction == "higher_better" else best >= worst):
                side = "above" if direction == "higher_better" else "below"
                self.add(_join(path, "best"), f"best ({best:g}) must be {side} worst ({worst:g}) for "
                                              f"direction {direction}")
        for key in ("reference", "official_source"):
            self.text(obj, key, path)
        form = self.choice(obj, "form", path, sums.FORMS) or "ratio"
        denominator = obj.get("denominator", ())
        denominator = (denominator,) if isinstance(denominator, str) else denominator
        if not isinstance(denominator, list | tuple) or not all(isinstance(c, str) for c in denominator):
            self.add(_join(path, "denominator"), "must be a column name or a list of column names")
        elif denominator and "per" in obj:
            self.add(_join(path, "denominator"), "give `per` (sum of column / sum of per) or `denominator` "
                                                 "(column is a rate over it), not both")
        self.text(obj, "of", path)
        if "of" in obj and form == "ratio":
            self.add(_join(path, "of"), "`of` names the column a growth or change form is computed from; "
                                        "a ratio uses `column`")
        events = obj.get("events", False)
        if not isinstance(events, bool):
            self.add(_join(path, "events"), f"must be true or false, not {events!r}")
        elif events and not (denominator or "per" in obj):
            self.add(_join(path, "events"), "a few-event rate needs `denominator` or `per` (what the events "
                                            "are counted among)")
        if common is None or len(self.problems) > n:
            return None
        return Indicator(*common, obj["dimension"], obj["source"], obj["column"], direction, norm,
                         weight, target, tolerance, obj.get("relative_to"), obj.get("per"), scale,
                         best, worst, obj.get("reference"), obj.get("official_source"),
                         tuple(denominator), form, bool(events), obj.get("of"))

    def grade(self, obj, path: str) -> Grade | None:
        common = self._common(obj, path, "grades")
        score = self.number(obj, "min_score", path, low=0, high=100) if isinstance(obj, dict) else None
        return Grade(*common, score) if common and score is not None else None

    def duplicates(self, items: list[tuple[int, object]], section: str) -> None:
        seen: set[str] = set()
        for i, item in items:
            if item.code in seen:
                self.add(f"{section}[{i}].code", f"code {item.code!r} is used twice in {section}")
            seen.add(item.code)

    def same_information(self, inds: list[tuple[int, Indicator]]) -> None:
        """Refuse two indicators of one dimension read from the same quantity (e.g. growth, and growth
        minus the prefecture's): they count one piece of information twice."""
        seen: dict[tuple, tuple[int, Indicator]] = {}
        for i, ind in inds:
            key = (ind.dimension, ind.source, ind.of or ind.column)
            if key in seen:
                j, other = seen[key]
                self.add(f"indicators[{i}].column",
                         f"indicator {ind.code!r} reads the same quantity ({ind.source}.{ind.of or ind.column}) "
                         f"as {other.code!r} (indicators[{j}]) in dimension {ind.dimension!r}: it duplicates "
                         "that indicator's information; keep one")
            else:
                seen[key] = (i, ind)

    def weights(self, dims: list[tuple[int, Dimension]], inds: list[Indicator]) -> None:
        if dims and sum(d.weight for _, d in dims) <= 0:
            self.add("dimensions", "dimension weights add up to zero; give at least one a positive weight")
        for i, d in dims:
            own = [ind for ind in inds if ind.dimension == d.code]
            if d.weight > 0 and not own:
                self.add(f"dimensions[{i}].weight", f"dimension {d.code!r} has a positive weight but no "
                                                    "indicators; add indicators or set its weight to 0")
            elif d.weight > 0 and sum(ind.weight for ind in own) <= 0:
                self.add(f"dimensions[{i}].weight", f"the indicator weights of dimension {d.code!r} add "
                                                    "up to zero; give one a positive weight or set the "
                                                    "dimension weight to 0")

    def bands(self, grades: list[tuple[int, Grade]]) -> None:
        for (_, better), (i, grade) in zip(grades, grades[1:]):
            if grade.min_score >= better.min_score:
                self.add(f"grades[{i}].min_score",
                         f"{grade.min_score:g} is not below the previous band's {better.min_score:g}: "
                         "list bands best first with strictly decreasing min_score, so that they "
                         "neither overlap nor repeat")
        if grades and grades[-1][1].min_score != 0:
            self.add(f"grades[{grades[-1][0]}].min_score",
                     "the last (worst) band must start at 0 so that every score gets a grade")

    def scoring(self, obj) -> dict:
        if obj is None or self.mapping(obj, "scoring", _SCORING_KEYS) is None:
            return {}
        return {"zscore_centre": self.number(obj, "zscore_centre", "scoring", low=0, high=100),
                "zscore_scale": self.number(obj, "zscore_scale", "scoring", low=0, low_open=True),
                "flag_parts": self.number(obj, "flag_parts", "scoring", low=2, integer=True)}

    def few(self, obj) -> dict:
        if obj is None:
            return {"method": "none", "min_events": 5}
        if self.mapping(obj, "few_events", _FEW_EVENT_KEYS) is None:
            return {}
        self.choice(obj, "method", "few_events", sums.METHODS)
        return {"method": obj.get("method"),
                "min_events": self.number(obj, "min_events", "few_events", low=1, integer=True)}

    def boot(self, obj) -> dict:
        if obj is None or self.mapping(obj, "bootstrap", _BOOTSTRAP_KEYS) is None:
            return {}
        self.choice(obj, "within", "bootstrap", GEOGRAPHY)
        return {"replicates": self.number(obj, "replicates", "bootstrap", low=1, integer=True),
                "seed": self.number(obj, "seed", "bootstrap", low=0, integer=True),
                "level": self.number(obj, "level", "bootstrap", low=0, low_open=True, high=1,
                                     high_open=True),
                "within": obj.get("within")}


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


# --------------------------------------------------------------------------------------------------
# Indicator tables from household records
# --------------------------------------------------------------------------------------------------

#: The indicator tables the shipped indicator systems use, by the name an indicator's ``source`` gives.
#: Each entry is called as ``source(households, members, by)`` (``by``: the region columns, e.g.
#: ``("prefecture", "county")``) and returns one row per region x year. Configuration files name these
#: entries; they never name code. A study with its own tables passes its own registry of the same form.
SOURCES: dict[str, Callable[[pd.DataFrame, pd.DataFrame, tuple[str, ...]], pd.DataFrame]] = {
    "income_growth": lambda households, members, by: indicators.income_growth(households, by=by),
    "poverty": lambda households, members, by: indicators.poverty(households, by=by),
    "basic_needs": lambda households, members, by: indicators.basic_needs(households, by=by),
    "basic_needs_union": lambda households, members, by: poverty.basic_needs_union(households, by=by),
    "employment": lambda households, members, by: indicators.employment(members, by=by, households=households),
    "training": lambda households, members, by: indicators.training(members, by=by),
    "monitoring_coverage": lambda households, members, by: monitoring.coverage(households, by=by),
    "identification_gap": lambda households, members, by: monitoring.identification_gap_summary(households, by=by),
    "elimination": lambda households, members, by: monitoring.elimination(households, by=by),
    "return_rates": lambda households, members, by: monitoring.return_rates(households, by=by),
}


def _call_source(entry: Callable, households: pd.DataFrame, members: pd.DataFrame,
                 by: list[str]) -> pd.DataFrame:
    return entry(households, members, tuple(by))


def default_registry(system: System | None = None) -> dict[str, Callable]:
    """The registry of the shipped indicator tables (:data:`SOURCES`)."""
    return dict(SOURCES)


def compute_indicators(households: pd.DataFrame, members: pd.DataFrame, system: System,
                       registry: Registry | None = None, peers=("county",),
                       group=("prefecture",), household: sums.Sums | None = None) -> pd.DataFrame:
    """The indicator table (one row per county x year) computed from household and member records.

    Each indicator table the system uses is computed once by its registry function (see
    :data:`SOURCES` for how it is called), and the indicator's value is read from the configured
    ``column`` (divided by ``per`` and multiplied by ``scale`` when set). For an indicator with
    ``relative_to`` (e.g. ``prefecture``), the source is also computed on whole prefectures
    (``by=("prefecture",)``), and the county's value is its own minus its prefecture's pooled value.

    Parameters
    ----------
    households, members : DataFrame
        Canonical tables (see :mod:`analysis.io.schema`).
    system : System
    registry : mapping, optional
        Indicator-table name -> ``function(households, members, by)``; by default :data:`SOURCES`.
    peers, group : sequence of str
        Columns naming the scored unit and the comparison group.
    household : Sums, optional
        The household terms of the same records (:func:`analysis.studies.assessment_sums.household_sums`),
        when the caller has them already; used for few-event estimation.

    Returns
    -------
    DataFrame
        Columns ``*group``, ``*peers``, ``year``, then one float column per indicator code.
    """
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    registry = default_registry(system) if registry is None else registry
    used = sorted({i.source for i in system.indicators})
    absent = [s for s in used if s not in registry]
    if absent:
        users = [i.code for i in system.indicators if i.source in absent]
        raise ValueError(f"the registry has no indicator source {absent} (used by {users}); "
                         f"it has {sorted(registry)}")
    geo = _geography(households, system, peers, group)
    table = _indicator_table(households, members, system, registry, peers, group, geo)
    if not any(i.events for i in system.indicators):
        return table
    if household is None:
        household = sums.household_sums(households, members, system, registry, peers)
    return _with_few_events(table, household, system, peers, group)


def _cell_groups(cells: pd.DataFrame, table: pd.DataFrame, peers: list[str], group: list[str]) -> np.ndarray:
    """A group-year code for each cell of the household sums (cells carry the unit columns and year)."""
    keys = [*dict.fromkeys([*group, *peers])]
    geo = table[keys].drop_duplicates(peers).astype("string")
    located = cells.merge(geo, on=peers, how="left")
    return located.groupby([*group, "year"], dropna=False, sort=False).ngroup().to_numpy() if group else \
        located.groupby("year", sort=False).ngroup().to_numpy()


def _with_few_events(table: pd.DataFrame, household: sums.Sums, system: System, peers: list[str],
                     group: list[str]) -> pd.DataFrame:
    """The indicator table with few-event rates estimated as ``few_events.method`` says (the columns
    named by indicator codes, which are scored), the raw rates as ``raw_<code>`` and the households
    with the event as ``events_<code>``."""
    totals = household.totals()
    raw = sums.raw_values(totals, household, system)
    counts = sums.counted(totals, system)
    groups = _cell_groups(household.cells, table, peers, group)
    level = float(system.bootstrap.get("level", 0.90))
    estimate = sums.shrink(raw, totals, counts, groups, system, level)
    found = sums.events(totals, system)
    at = pd.MultiIndex.from_frame(household.cells).get_indexer(
        pd.MultiIndex.from_frame(table[[*peers, "year"]].astype({p: "string" for p in peers})))
    out = table.copy()
    for j, ind in enumerate(system.indicators):
        if not ind.events:
            continue
        out[f"raw_{ind.code}"] = table[ind.code]
        out[ind.code] = np.where((at >= 0) & table[ind.code].notna(), estimate[np.maximum(at, 0), j], np.nan)
        out[f"events_{ind.code}"] = np.where(at >= 0, found[np.maximum(at, 0), j], np.nan)
    return out


def _geography(households: pd.DataFrame, system: System, peers: list[str], group: list[str]) -> pd.DataFrame:
    """Each unit's group and ``relative_to`` areas, from the household records (one row per unit)."""
    keys = [*dict.fromkeys([*group, *peers])]
    levels = sorted({i.relative_to for i in system.indicators if i.relative_to})
    _require(households, [*keys, *levels], "households")
    geo = households[[*dict.fromkeys([*keys, *levels])]].drop_duplicates().astype("string")
    split = geo[geo.duplicated(peers, keep=False)]
    if len(split):
        raise ValueError(f"{peers} value(s) {split[peers].drop_duplicates().values.tolist()[:5]} belong "
                         f"to more than one {[c for c in geo if c not in peers]} in households")
    return geo.reset_index(drop=True)


def _indicator_table(households, members, system: System, registry: Registry, peers: list[str],
                     group: list[str], geo: pd.DataFrame) -> pd.DataFrame:
    """The indicator table for every unit x year present in any source table."""
    keys = [*dict.fromkeys([*group, *peers])]
    frames = _source_frames(households, members, system, registry, peers)
    rows = pd.concat([f[[*peers, "year"]] for f in frames.values()]).drop_duplicates()
    rows = geo.merge(rows, on=peers, how="right").sort_values([*keys, "year"]).reset_index(drop=True)
    values = _indicator_values(frames, households, members, system, registry, peers, rows)
    return pd.concat([rows[[*keys, "year"]], pd.DataFrame(values, columns=system.indicator_codes)], axis=1)


def _source_frames(households, members, system: System, registry: Registry,
                   peers: list[str]) -> dict[str, pd.DataFrame]:
    used = sorted({i.source for i in system.indicators})
    return {s: _source_frame(_call_source(registry[s], households, members, peers), s, peers, system)
            for s in used}


def _indicator_values(frames: dict, households, members, system: System, registry: Registry,
                      peers: list[str], rows: pd.DataFrame, lookup: dict | None = None) -> np.ndarray:
    """Indicator values (one column per indicator) for ``rows`` (peers, ``year`` and areas).

    Values are placed by position lookups rather than merges; ``lookup`` keeps the row indexes
    between calls, as the bootstrap calls this once per replicate with the same ``rows``.
    """
    lookup = {} if lookup is None else lookup

    def index_of(columns: list[str]) -> pd.MultiIndex:
        key = tuple(columns)
        if key not in lookup:
            lookup[key] = pd.MultiIndex.from_frame(rows[columns])
        return lookup[key]

    def positions(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
        return pd.MultiIndex.from_frame(frame[columns]).get_indexer(index_of(columns))

    out = np.full((len(rows), len(system.indicators)), np.nan)
    refs: dict[tuple[str, str], tuple[pd.DataFrame, np.ndarray]] = {}
    pos = {name: positions(frame, [*peers, "year"]) for name, frame in frames.items()}
    for j, ind in enumerate(system.indicators):
        value = _value(frames[ind.source], ind)
        out[:, j] = np.where(pos[ind.source] >= 0, value[pos[ind.source]], np.nan)
        if ind.relative_to:
            key = (ind.source, ind.relative_to)
            if key not in refs:
                ref = _reference(registry[ind.source], households, members, ind, peers, system)
                refs[key] = (ref, positions(ref, [ind.relative_to, "year"]))
            ref, where = refs[key]
            out[:, j] -= np.where(where >= 0, _value(ref, ind)[where], np.nan)
    return out


def _value(frame: pd.DataFrame, ind: Indicator) -> np.ndarray:
    """An indicator's value from its source table: ``column`` (/ ``per``) * ``scale``."""
    value = frame[ind.column].to_numpy(dtype="float64", na_value=np.nan)
    if ind.per:
        per = frame[ind.per].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = value / np.where(per != 0, per, np.nan)
    return value * ind.scale


def _source_frame(frame, name: str, peers: list[str], system: System) -> pd.DataFrame:
    """Check and trim one indicator table returned by a registry function."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"indicator source {name!r} returned {type(frame).__name__}, not a DataFrame")
    if any(k in (frame.index.names or []) for k in [*peers, "year"]):
        frame = frame.reset_index()
    missing = [c for c in [*peers, "year"] if c not in frame.columns]
    if missing:
        raise ValueError(f"indicator source {name!r} returned a table without column(s) {missing}; "
                         f"it has {list(frame.columns)}")
    wanted = sorted({c for i in system.indicators if i.source == name
                     for c in (i.column, i.per, i.of, *i.denominator) if c})
    lacking = [c for c in wanted if c not in frame.columns]
    if lacking:
        users = [i.code for i in system.indicators
                 if i.source == name and {i.column, i.per, i.of, *i.denominator} & set(lacking)]
        raise ValueError(f"indicator source {name!r} has no column(s) {lacking} (used by indicators "
                         f"{users}); it has {list(frame.columns)}. Fix `column` or `per` in "
                         f"{system.path}")
    out = frame[[*peers, "year", *wanted]]
    keep = out[peers].notna().all(axis=1)
    if not keep.all():
        out = out[keep]
    types = {p: "string" for p in peers if out[p].dtype != "string"}
    if out["year"].dtype != "int64":
        types["year"] = "int64"
    for c in wanted:
        if out[c].dtype != "float64":
            types[c] = "float64"
    try:
        out = out.astype(types) if types else out
    except (TypeError, ValueError):
        raise ValueError(f"indicator source {name!r}: columns {wanted} must hold numbers and "
                         "'year' whole years") from None
    dup = out.duplicated([*peers, "year"])
    if dup.any():
        raise ValueError(f"indicator source {name!r} has more than one row for "
                         f"{out.loc[dup, [*peers, 'year']].head(3).values.tolist()}")
    return out


def _reference(entry: Callable, households, members, ind: Indicator, peers: list[str],
               system: System) -> pd.DataFrame:
    """The source's values on whole ``relative_to`` areas (columns: the area, ``year``, values)."""
    level = ind.relative_to
    return _source_frame(_call_source(entry, households, members, [level]), ind.source, [level], system)


# --------------------------------------------------------------------------------------------------
# Scores, ranks, grades
# --------------------------------------------------------------------------------------------------

def score(indicators: pd.DataFrame, system: System, year: int | None = None, peers=("county",),
          group=("prefecture",)) -> pd.DataFrame:
    """Composite scores, ranks and grades of each county (OECD 2008, steps 5-6).

    1. Each indicator is normalised to 0-100. Absolute scales, fixed in the indicator file, make a
       county's score its own (adding or removing a county changes no other county's score):
       ``scale`` 100 (x - worst) / (best - worst), clipped to 0-100; ``target`` 100 at or beyond the
       target, falling linearly to 0 at target -/+ tolerance. Relative scales compare the peers of
       the same group and year: ``minmax`` 100 (x - min) / (max - min); ``zscore`` centre + scale z,
       clipped to 0-100, with z = (x - mean) / sd (population sd, ddof = 0; the shipped 50 + 10 z is
       the T-score scale); with no spread among the peers all get 50. ``lower_better`` reverses the
       relative scales (``scale`` takes the direction from best and worst).
    2. A dimension score is the weighted mean of its indicator scores; a county missing an indicator
       is scored on the others, reweighted within the dimension, and flagged.
    3. The composite is the weighted mean of the dimension scores (a dimension missing entirely is
       reweighted the same way). Rank 1 is best within the group and year; ties share the best rank.
       The grade is the first band whose ``min_score`` the composite reaches.

    Parameters
    ----------
    indicators : DataFrame
        The indicator table: columns ``*group``, ``*peers``, ``year`` and one column per indicator code
        (as made by :func:`compute_indicators`), one row per unit and year.
    system : System
    year : int, optional
        Keep only this year (normalisation is always within year).
    peers, group : sequence of str
        The scored unit (``county``) and the group within which counties are compared and ranked
        (``prefecture``; ``()`` compares all together).

    Returns
    -------
    DataFrame
        One row per unit x year: ``*group``, ``*peers``, ``year``, ``value_<indicator>`` and
        ``score_<indicator>`` for each indicator, ``dimension_<dimension>`` for each dimension,
        ``composite``, ``rank`` (Int64), ``n_peers`` (units with a composite in the group-year),
        ``grade`` (grade code), ``missing_indicators`` (codes joined by ``,``, empty if none) and
        ``reweighted`` (True when a counted indicator was missing).

    Examples
    --------
    >>> import pandas as pd
    >>> system = load_system()
    >>> table = pd.DataFrame({"prefecture": "P", "county": ["a", "b"], "year": 2023}
    ...                      | {code: [1.0, 2.0] for code in system.indicator_codes})
    >>> score(table, system)[["county", "composite", "rank", "grade"]].round(1)
      county  composite  rank grade
    0      a       63.0     1  fair
    1      b       52.0     2  poor
    """
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    table = _checked_table(indicators, system, peers, group)
    return _select_year(_score_table(table, system, peers, group), year)


def _score_table(table: pd.DataFrame, system: System, peers: list[str], group: list[str]) -> pd.DataFrame:
    keys, by = [*dict.fromkeys([*group, *peers])], [*group, "year"]
    codes = system.indicator_codes
    scores, dims, composite, rank, n_peers = _composite(table[codes], _Cells(table, by), system)
    out = table[[*keys, "year"]].copy()
    for c in codes:
        out[f"value_{c}"] = table[c]
    for c in codes:
        out[f"score_{c}"] = scores[c]
    for d in system.dimensions:
        out[f"dimension_{d.code}"] = dims[d.code]
    out["composite"] = composite
    out["rank"] = pd.array(rank, dtype="Float64").astype("Int64")
    out["n_peers"] = n_peers
    out["grade"] = _grade(np.round(composite, _DECIMALS), system)
    missing = table[codes].isna().to_numpy()
    out["missing_indicators"] = _join_codes(missing, codes)
    counted = np.array([i.weight > 0 and _dim(system, i.dimension).weight > 0 for i in system.indicators])
    out["reweighted"] = (missing & counted).any(axis=1) & ~np.isnan(composite)
    return out.sort_values([*group, "year", "rank", *peers], na_position="last").reset_index(drop=True)


class _Cells:
    """Rows grouped into group-year cells, with the per-cell statistics scoring needs, in numpy.

    Scoring runs once per bootstrap replicate, so the grouping is computed once and reused.
    """

    def __init__(self, table: pd.DataFrame, by: list[str]):
        self.codes = table.groupby(by, dropna=False, sort=False).ngroup().to_numpy()
        self.order = np.argsort(self.codes, kind="stable")
        ordered = self.codes[self.order]
        first = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.array([], bool)
        self.starts = np.flatnonzero(first)
        self.inverse = np.empty(len(self.codes), dtype=np.int64)
        self.inverse[self.order] = np.cumsum(first) - 1

    def _per_row(self, ufunc, values: np.ndarray) -> np.ndarray:
        if not len(values):
            return values.astype("float64")
        return ufunc.reduceat(values[self.order], self.starts, axis=0)[self.inverse]

    def count(self, values: np.ndarray) -> np.ndarray:
        return self._per_row(np.add, (~np.isnan(values)).astype("float64"))

    def minimum(self, values: np.ndarray) -> np.ndarray:
        return self._per_row(np.fmin, values)

    def maximum(self, values: np.ndarray) -> np.ndarray:
        return self._per_row(np.fmax, values)

    def mean(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._per_row(np.add, np.nan_to_num(values)) / self.count(values)

    def std(self, values: np.ndarray) -> np.ndarray:
        """Population standard deviation (ddof = 0) of the non-missing values."""
        dev = np.nan_to_num(values - self.mean(values))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self._per_row(np.add, dev * dev) / self.count(values))

    def rank(self, values: np.ndarray) -> np.ndarray:
        """Rank within the cell, 1 = largest, ties share the best rank; missing stays missing."""
        key = np.where(np.isnan(values), np.inf, -values)
        order = np.lexsort((key, self.codes))
        k, c = key[order], self.codes[order]
        at = np.arange(len(values))
        new_cell = np.r_[True, c[1:] != c[:-1]] if len(values) else np.array([], bool)
        new_run = new_cell | np.r_[True, k[1:] != k[:-1]] if len(values) else new_cell
        cell_start = np.maximum.accumulate(np.where(new_cell, at, 0))
        run_start = np.maximum.accumulate(np.where(new_run, at, 0))
        out = np.empty(len(values))
        out[order] = run_start - cell_start + 1
        return np.where(np.isnan(values), np.nan, out)


def _composite(values: pd.DataFrame, cells: _Cells, system: System):
    """Indicator scores, dimension scores, composite, rank and number of ranked peers per row."""
    scores = _normalised(values, cells, system)
    dims = _dimension_scores(scores, system)
    composite = _weighted_mean(dims.to_numpy(), np.array([d.weight for d in system.dimensions]))
    rounded = np.round(composite, _DECIMALS)
    return scores, dims, composite, cells.rank(rounded), cells.count(rounded).astype("int64")


def _normalised(values: pd.DataFrame, cells: _Cells, system: System) -> pd.DataFrame:
    """Indicator scores 0-100 among the rows of the same cell (see :func:`score` for the rules)."""
    centre, scale = system.scoring["zscore_centre"], system.scoring["zscore_scale"]
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for ind in system.indicators:
            x = values[ind.code].to_numpy(dtype="float64", na_value=np.nan)
            sign = 1.0 if ind.direction == "higher_better" else -1.0
            if ind.normalisation == "minmax":
                lo = cells.minimum(x)
                span = cells.maximum(x) - lo
                share = (x - lo) / span
                s = 100 * (share if sign > 0 else 1 - share)
                s = np.where(span > 0, s, _NO_SPREAD_SCORE)
            elif ind.normalisation == "zscore":
                dev = cells.std(x)
                z = sign * (x - cells.mean(x)) / dev
                s = np.where(dev > 0, np.clip(centre + scale * z, 0, 100), centre)
            else:
                s = _absolute_score(x, ind)
            out[ind.code] = np.where(np.isnan(x), np.nan, s)
    return pd.DataFrame(out)


def _absolute_score(x: np.ndarray, ind: Indicator) -> np.ndarray:
    """0-100 score of values on an absolute scale (``scale`` or ``target``): the county's own."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if ind.normalisation == "scale":
            return 100 * np.clip((x - ind.worst) / (ind.best - ind.worst), 0, 1)
        sign = 1.0 if ind.direction == "higher_better" else -1.0
        floor = ind.target - sign * ind.tolerance
        return 100 * np.clip(sign * (x - floor) / ind.tolerance, 0, 1)


def composite_of_values(values: np.ndarray, system: System) -> np.ndarray:
    """Composite scores of indicator values (..., units, indicators) on absolute scales, vectorised.

    The same rules as :func:`score` (missing indicators reweighted within their dimension, missing
    dimensions within the composite) for any number of leading axes, e.g. bootstrap replicates.
    Relative normalisations need the peers and are refused.
    """
    if any(i.relative for i in system.indicators):
        raise ValueError("composite_of_values needs absolute scales; use score() for relative ones")
    scores = np.stack([np.where(np.isnan(values[..., j]), np.nan, _absolute_score(values[..., j], ind))
                       for j, ind in enumerate(system.indicators)], axis=-1)
    dims = []
    for d in system.dimensions:
        own = [j for j, i in enumerate(system.indicators) if i.dimension == d.code]
        dims.append(_weighted_mean(scores[..., own], np.array([system.indicators[j].weight for j in own]))
                    if own else np.full(values.shape[:-1], np.nan))
    return _weighted_mean(np.stack(dims, axis=-1), np.array([d.weight for d in system.dimensions]))


def _dimension_scores(scores: pd.DataFrame, system: System) -> pd.DataFrame:
    out = {}
    for d in system.dimensions:
        own = [i for i in system.indicators if i.dimension == d.code]
        if not own:
            out[d.code] = np.full(len(scores), np.nan)
            continue
        out[d.code] = _weighted_mean(scores[[i.code for i in own]].to_numpy(),
                                     np.array([i.weight for i in own]))
    return pd.DataFrame(out, index=scores.index)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the last axis and its non-missing entries (weights renormalised per row)."""
    present = ~np.isnan(values)
    den = present.astype("float64") @ weights
    num = np.where(present, values, 0.0) @ weights
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _grade(composite: np.ndarray, system: System) -> pd.Series:
    mins = np.array([g.min_score for g in system.grades])[::-1]
    codes = np.array([g.code for g in system.grades], dtype=object)[::-1]
    idx = np.searchsorted(mins, np.nan_to_num(composite, nan=-1.0), side="right") - 1
    labels = np.where((idx >= 0) & ~np.isnan(composite), codes[np.clip(idx, 0, None)], None)
    return pd.Series(labels, dtype="string")


def _join_codes(mask: np.ndarray, codes: list[str]) -> np.ndarray:
    parts = np.where(mask, np.array(codes, dtype=object), "")
    return np.array([",".join(p for p in row if p) for row in parts], dtype=object)


def _dim(system: System, code: str) -> Dimension:
    return next(d for d in system.dimensions if d.code == code)


def scorecard(indicators: pd.DataFrame, system: System, year: int | None = None, peers=("county",),
              group=("prefecture",)) -> pd.DataFrame:
    """A tidy scorecard: one row per county x year x indicator.

    ``rank`` orders the peers of the group-year on the indicator's score (1 = best, ties share the
    best rank). With ``n`` peers scored and ``k = scoring.flag_parts`` (3 in the shipped file), a
    county is a ``strength`` when its rank from the top r satisfies r k <= n (top k-th), a
    ``weakness`` when its rank from the bottom does (bottom k-th), otherwise ``neutral``; with fewer
    than k peers, or no spread at all, every county is ``neutral``.

    Returns
    -------
    DataFrame
        ``*group``, ``*peers``, ``year``, ``dimension``, ``indicator`` (codes), ``value``,
        ``group_median`` (median value of the peers in the group-year; the prefecture median by
        default), ``score`` (0-100), ``change`` (value minus the county's value in ``year - 1``; missing
        without it), ``rank`` (Int64), ``n_peers``, ``flag`` ('strength' | 'weakness' | 'neutral',
        missing when the value is), ``estimate`` (the value scored: for a few-event rate the
        estimate of ``few_events.method``, else the value), ``events`` (households with the event of a
        few-event rate, else missing), ``few_events`` (True when a few-event rate rests on fewer than
        ``few_events.min_events`` event households), ``relative`` (True when the indicator's scale is
        relative to the peers), ``direction`` and ``normalisation`` (from the indicator file).
        ``value``, ``group_median`` and ``change`` are the raw rates (``raw_<code>`` of the indicator
        table when present).
    """
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    table = _checked_table(indicators, system, peers, group)
    keys, by, codes = [*dict.fromkeys([*group, *peers])], [*group, "year"], system.indicator_codes
    cells = _Cells(table, by)
    raw = pd.DataFrame({c: (pd.to_numeric(indicators[f"raw_{c}"]).to_numpy(dtype="float64")
                            if f"raw_{c}" in indicators else table[c].to_numpy()) for c in codes})
    found = pd.DataFrame({c: (pd.to_numeric(indicators[f"events_{c}"]).to_numpy(dtype="float64")
                              if f"events_{c}" in indicators else np.full(len(table), np.nan)) for c in codes})
    scores = _normalised(table[codes], cells, system).round(_DECIMALS)
    top = scores.apply(lambda col: cells.rank(col.to_numpy()))
    bottom = scores.apply(lambda col: cells.rank(-col.to_numpy()))
    n = scores.apply(lambda col: cells.count(col.to_numpy()))
    median = raw.groupby(cells.codes).transform("median")
    before = pd.concat([table[[*keys, "year"]], raw], axis=1).assign(year=table["year"] + 1)
    previous = table[[*keys, "year"]].merge(before, on=[*keys, "year"], how="left")[codes]
    k = system.scoring["flag_parts"]
    strong, weak = (top * k <= n).to_numpy(), (bottom * k <= n).to_numpy()
    strength, weakness, neutral = FLAGS
    flag = np.where(strong & ~weak, strength, np.where(weak & ~strong, weakness, neutral))
    flag = np.where(scores.isna().to_numpy(), None, flag)
    width = len(codes)
    long = table[[*keys, "year"]].loc[table.index.repeat(width)].reset_index(drop=True)
    long["dimension"] = np.tile([i.dimension for i in system.indicators], len(table))
    long["indicator"] = np.tile(codes, len(table))
    long["value"] = raw.to_numpy().ravel()
    long["estimate"] = table[codes].to_numpy().ravel()
    long["group_median"] = median.to_numpy().ravel()
    long["score"] = scores.to_numpy().ravel()
    long["change"] = long["value"] - previous.to_numpy().ravel()
    long["rank"] = pd.array(top.to_numpy().ravel(), dtype="Float64").astype("Int64")
    long["n_peers"] = n.to_numpy().ravel().astype("int64")
    long["flag"] = pd.array(flag.ravel(), dtype="string")
    long["events"] = found.to_numpy().ravel()
    long["few_events"] = (long["events"] < system.few_events["min_events"]).to_numpy()
    long["relative"] = np.tile([i.relative for i in system.indicators], len(table))
    long["direction"] = np.tile([i.direction for i in system.indicators], len(table))
    long["normalisation"] = np.tile([i.normalisation for i in system.indicators], len(table))
    long = _select_year(long, year)
    order = {c: i for i, c in enumerate(codes)}
    return long.sort_values([*keys, "year", "indicator"], key=lambda s: s.map(order) if s.name ==
                            "indicator" else s).reset_index(drop=True)


def _keys(value, name: str) -> list[str]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, tuple | list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a column name or a sequence of column names, not {value!r}")
    if name == "peers" and not value:
        raise ValueError("peers must name at least one column (e.g. ('county',))")
    return list(value)


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    require_columns(frame, columns, what)


def _checked_table(indicators: pd.DataFrame, system: System, peers: list[str],
                   group: list[str]) -> pd.DataFrame:
    """The indicator table's keys and indicator columns (as float64), after checking them."""
    if not isinstance(indicators, pd.DataFrame):
        raise ValueError(f"indicators must be a DataFrame, not {type(indicators).__name__}")
    keys, codes = [*dict.fromkeys([*group, *peers])], system.indicator_codes
    _require(indicators, [*keys, "year", *codes], "the indicator table")
    dup = indicators.duplicated([*keys, "year"])
    if dup.any():
        raise ValueError(f"the indicator table has more than one row for "
                         f"{indicators.loc[dup, [*keys, 'year']].head(3).values.tolist()}")
    out = indicators[[*keys, "year"]].reset_index(drop=True)
    out["year"] = out["year"].astype("int64")
    for c in codes:
        try:
            out[c] = pd.to_numeric(indicators[c]).astype("float64").to_numpy()
        except (TypeError, ValueError):
            raise ValueError(f"indicator column {c!r} must hold numbers") from None
    return out


def _select_year(frame: pd.DataFrame, year) -> pd.DataFrame:
    if year is None:
        return frame
    if isinstance(year, bool) or not isinstance(year, int | np.integer):
        raise ValueError(f"year must be an integer or None, not {year!r}")
    if year not in set(frame["year"]):
        raise ValueError(f"year {year} is not in the indicator table; it has "
                         f"{sorted(set(frame['year'].tolist()))}")
    return frame[frame["year"] == year].reset_index(drop=True)


def no_variation(card: pd.DataFrame, group=("prefecture",)) -> pd.DataFrame:
    """Indicators that separate no county: the same score for every scored county of a group-year.

    Parameters
    ----------
    card : DataFrame
        A scorecard (:func:`scorecard`).

    Returns
    -------
    DataFrame
        ``*group``, ``year``, ``indicator``, ``score`` (the common score) and ``n_peers`` (counties
        scored), one row per indicator without variation among at least two counties.
    """
    by = [*_keys(group, "group"), "year", "indicator"]
    scored = card[card["score"].notna()]
    stats = scored.groupby(by, sort=False)["score"].agg(["min", "max", "count"]).reset_index()
    flat = stats[(stats["count"] >= 2) & (stats["max"] - stats["min"] <= 10 ** -_DECIMALS)]
    return flat.rename(columns={"min": "score", "count": "n_peers"})[[*by, "score", "n_peers"]].reset_index(
        drop=True)


# --------------------------------------------------------------------------------------------------
# Sensitivity to weights
# --------------------------------------------------------------------------------------------------

def weight_scenarios(system: System) -> dict[str, System]:
    """Alternative systems: ``configured``, ``equal``, ``drop_<dimension>`` for each dimension,
    ``omit_<indicator>`` for each indicator, and ``relative`` (min-max among the run's counties).

    ``equal`` gives the same weight to every dimension that has indicators and to every indicator
    within its dimension. ``drop_<d>`` keeps the configured weights but sets dimension ``d``'s to 0; it
    exists for each dimension with a positive weight while another positive dimension remains.
    ``omit_<i>`` leaves indicator ``i`` out (weight 0; a dimension left without indicators drops out of
    the composite), for each counted indicator while another remains. ``relative`` keeps the weights
    but normalises every indicator min-max among the counties of the run (the alternative
    normalisation; absent when the system is relative already).
    """
    scenarios = {"configured": system}
    scored = {i.dimension for i in system.indicators}
    scenarios["equal"] = system.with_weights(
        {d.code: 1.0 if d.code in scored else 0.0 for d in system.dimensions},
        dict.fromkeys(system.indicator_codes, 1.0))
    live = [d.code for d in system.dimensions if d.weight > 0]
    if len(live) > 1:
        for code in live:
            scenarios[f"drop_{code}"] = system.with_weights({code: 0.0})
    counted = [i.code for i in system.indicators if i.weight > 0 and _dim(system, i.dimension).weight > 0]
    if len(counted) > 1:
        for code in counted:
            scenarios[f"omit_{code}"] = system.with_weights(indicators={code: 0.0})
    if not all(i.relative for i in system.indicators):
        scenarios["relative"] = system.relative()
    return scenarios


def robust_ranks(sensitivity: pd.DataFrame, group=("prefecture",), peers=("county",), places: int = 0
                 ) -> pd.DataFrame:
    """Each county's rank range over the scenarios of :func:`weight_sensitivity`, and whether it is robust.

    Returns
    -------
    DataFrame
        ``*group``, ``*peers``, ``year``, ``rank`` (configured), ``best`` and ``worst`` (over every
        scenario), ``largest_move`` (largest absolute rank change) and ``robust`` (True when no scenario
        moves the rank by more than ``places``).
    """
    keys = [*dict.fromkeys([*_keys(group, "group"), *_keys(peers, "peers")]), "year"]
    ranked = sensitivity[sensitivity["rank"].notna()]
    out = ranked.groupby(keys, sort=False).agg(best=("rank", "min"), worst=("rank", "max"),
                                                largest_move=("rank_change", lambda r: r.abs().max()))
    base = ranked[ranked["scenario"] == "configured"].set_index(keys)["rank"].rename("rank")
    out = out.join(base).reset_index()
    out["robust"] = out["largest_move"] <= places
    return out[[*keys, "rank", "best", "worst", "largest_move", "robust"]]


def weight_sensitivity(indicators: pd.DataFrame, system: System, year: int | None = None,
                       peers=("county",), group=("prefecture",)) -> pd.DataFrame:
    """Composite scores and ranks under the alternative weightings of :func:`weight_scenarios`.

    A one-at-a-time sensitivity analysis of the weights (Saisana, Saltelli and Tarantola 2005, JRSS A
    168(2): 307-323): a rank that moves much when one dimension is dropped rests on that dimension.

    Returns
    -------
    DataFrame
        ``scenario``, ``*group``, ``*peers``, ``year``, ``composite``, ``rank`` (Int64) and
        ``rank_change`` = rank under the scenario minus rank under the configured weights (positive:
        the county falls that many places).
    """
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    table = _checked_table(indicators, system, peers, group)
    keys = [*dict.fromkeys([*group, *peers]), "year"]
    frames = []
    for name, alt in weight_scenarios(system).items():
        scored = _score_table(table, alt, peers, group)[[*keys, "composite", "rank"]]
        frames.append(scored.assign(scenario=name))
    out = pd.concat(frames, ignore_index=True)
    base = out.loc[out["scenario"] == "configured", [*keys, "rank"]].rename(columns={"rank": "base"})
    out = out.merge(base, on=keys, how="left")
    out["rank_change"] = (out["rank"] - out["base"]).astype("Int64")
    out = _select_year(out[["scenario", *keys, "composite", "rank", "rank_change"]], year)
    return out


# --------------------------------------------------------------------------------------------------
# Uncertainty: household bootstrap within villages
# --------------------------------------------------------------------------------------------------

def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges ``starts[i] : starts[i] + counts[i]`` without a Python loop."""
    ends = np.cumsum(counts)
    return np.repeat(starts - (ends - counts), counts) + np.arange(ends[-1] if len(ends) else 0)


class _Resampler:
    """Draws replicate household and member tables: households resampled within their village.

    A drawn household brings all its years and all its members, under a new id (``b<slot>``) distinct
    for every draw, so a household drawn twice counts as two households.
    """

    def __init__(self, households: pd.DataFrame, members: pd.DataFrame, within: str):
        _require(households, ["household_id", "year", within], "households")
        _require(members, ["household_id", "person_id"], "members")
        if households["household_id"].isna().any():
            raise ValueError("households has missing household_id values")
        codes, ids = pd.factorize(households["household_id"])
        order = np.lexsort((households["year"].to_numpy(dtype="int64"), codes))
        self.households = households.iloc[order].reset_index(drop=True)
        unit = codes[order]
        self.n = len(ids)
        self.h_count = np.bincount(unit, minlength=self.n)
        self.h_start = np.cumsum(self.h_count) - self.h_count
        # A household's stratum is its village (full geography path) in its first recorded year.
        path = [c for c in GEOGRAPHY[:GEOGRAPHY.index(within) + 1] if c in households.columns]
        first = self.households.iloc[self.h_start][path]
        stratum = first.groupby(path, dropna=False, sort=True).ngroup().to_numpy()
        self.unit_order = np.argsort(stratum, kind="stable")
        size = np.bincount(stratum)
        slot_stratum = stratum[self.unit_order]
        self.slot_low = (np.cumsum(size) - size)[slot_stratum]
        self.slot_size = size[slot_stratum]
        m_unit = ids.get_indexer(members["household_id"])
        keep = np.flatnonzero(m_unit >= 0)
        m_order = keep[np.argsort(m_unit[keep], kind="stable")]
        self.members = members.iloc[m_order].reset_index(drop=True)
        self.m_count = np.bincount(m_unit[m_order], minlength=self.n)
        self.m_start = np.cumsum(self.m_count) - self.m_count
        self.slot_ids = pd.array([f"b{i}" for i in range(self.n)], dtype="string")

    def draw(self, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
        picks = self.unit_order[self.slot_low + rng.integers(0, self.slot_size)]
        slots = np.arange(self.n)
        h = self.households.take(_expand(self.h_start[picks], self.h_count[picks]))
        h = h.reset_index(drop=True).assign(
            household_id=self.slot_ids.take(np.repeat(slots, self.h_count[picks])))
        m = self.members.take(_expand(self.m_start[picks], self.m_count[picks])).reset_index(drop=True)
        new_ids = pd.Series(self.slot_ids.take(np.repeat(slots, self.m_count[picks])))
        m = m.assign(household_id=new_ids.array,
                     person_id=(new_ids + "-" + m["person_id"].astype("string")).array)
        return h, m


def bootstrap_scores(households: pd.DataFrame, members: pd.DataFrame, system: System,
                     registry: Registry | None = None, n_boot: int | None = None,
                     seed: int | None = None, level: float | None = None, peers=("county",),
                     group=("prefecture",), within: str | None = None,
                     progress: bool = True, years=None, household: sums.Sums | None = None) -> pd.DataFrame:
    """Composite-score and rank intervals by resampling households within villages.

    Each replicate draws, in every village, as many households as it has, with replacement (a
    stratified bootstrap with villages as strata; Efron and Tibshirani 1993, ch. 6 and 13), keeping
    each household's years and members together; recomputes the indicator table through ``registry``
    and rescores. Intervals are percentile intervals. Rank intervals and the probability of ranking
    first follow Goldstein and Spiegelhalter (1996, JRSS A 159(3): 385-443) and Hall and Miller (2009,
    Ann. Statist. 37(6B): 3929-3959). Drawing n rather than n - 1 households per village understates
    the variance by the factor (n - 1) / n (Rao and Wu 1988), negligible for villages of dozens of
    households.

    Parameters
    ----------
    households, members : DataFrame
        Canonical tables.
    system : System
    registry : mapping, optional
        Indicator-table name -> function(households, members); by default :func:`default_registry`.
    n_boot, seed, level : optional
        Replicates, random seed and interval level; by default ``bootstrap`` in the system file.
    peers, group : sequence of str
        As in :func:`score`.
    within : str, optional
        Geography level within which households are resampled; by default ``bootstrap.within``.
    progress : bool
        Show a progress bar over replicates.
    years : sequence of int, optional
        Resample only for these years (the others keep their point scores and no interval); with
        household-sum indicators, only these years' and the year before's terms enter the products.
    household : Sums, optional
        The household terms of these records, when the caller has them already.

    Returns
    -------
    DataFrame
        One row per unit x year: ``*group``, ``*peers``, ``year``, ``composite`` and ``rank`` (full
        sample), ``composite_low``, ``composite_high``, ``rank_low``, ``rank_high`` (Int64; ``level``
        percentile intervals), ``n_peers``, ``p_first`` and ``p_last`` (shares of replicates ranked
        first / last in the group-year), ``n_boot`` (replicates with a score). ``attrs`` records
        ``level``, ``seed``, ``n_boot`` and ``within``.
    """
    conf = system.bootstrap
    n_boot = conf["replicates"] if n_boot is None else n_boot
    seed = conf["seed"] if seed is None else seed
    level = conf["level"] if level is None else level
    within = conf["within"] if within is None else within
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, not {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.90), not {level!r}")
    if within not in GEOGRAPHY:
        raise ValueError(f"within must be one of {list(GEOGRAPHY)}, not {within!r}")
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    registry = default_registry(system) if registry is None else registry
    keys = [*dict.fromkeys([*group, *peers]), "year"]

    geo = _geography(households, system, peers, group)
    if household is None and has_sum_form(system):
        household = sums.household_sums(households, members, system, registry, peers)
    full = compute_indicators(households, members, system, registry, peers, group, household)
    table = _checked_table(full, system, peers, group)
    cells = _Cells(table, [*group, "year"])
    resampler = _Resampler(households, members, within)
    rng = np.random.default_rng(seed)
    if has_sum_form(system):
        part = household if years is None else household.restricted(years)
        comp = _replicates_by_sums(part, system, peers, group, table, full, resampler, rng, n_boot, level,
                                   progress)
    else:
        rows = table[keys].merge(geo, on=[*dict.fromkeys([*group, *peers])], how="left")
        comp = _replicates_by_records(households, members, system, registry, peers, rows, table, cells, resampler,
                                      rng, n_boot, progress)
    if years is not None:
        comp[:, ~table["year"].isin(list(years)).to_numpy()] = np.nan
    rank = np.vstack([cells.rank(np.round(c, _DECIMALS)) for c in comp]) if n_boot else comp
    last = rank == np.vstack([cells.maximum(r) for r in rank])
    point = _score_table(table, system, peers, group)[[*keys, "composite", "n_peers"]]
    summary = _summarise(table[keys], comp, rank, last, level)
    out = point.merge(summary, on=keys, how="left")
    out["rank"] = _headline_rank(out, cells, table[keys])
    out = out[[*keys, "composite", "composite_median", "composite_low", "composite_high", "rank", "rank_low",
               "rank_high", "n_peers", "p_first", "p_top3", "p_last", "n_boot"]]
    out.attrs.update({"level": level, "n_boot": n_boot, "seed": seed, "within": within})
    return out


def has_sum_form(system: System) -> bool:
    """True when every indicator is written as household sums (``per``, ``denominator`` or a growth or
    change form; no ``relative_to``), so that replicates are matrix products
    (:mod:`analysis.studies.assessment_sums`)."""
    return all((i.per or i.denominator or i.form != "ratio") and not i.relative_to for i in system.indicators)


def _headline_rank(out: pd.DataFrame, cells: _Cells, keys: pd.DataFrame) -> pd.Series:
    """The rank a page states: by the bootstrap median composite (ties share the best rank), and a county
    more often first than the one so ranked first shares first place with it, so that no county is named
    first while another is first more often."""
    aligned = keys.merge(out, on=list(keys.columns), how="left")
    median = aligned["composite_median"].to_numpy(dtype="float64")
    basis = np.where(np.isnan(median), aligned["composite"].to_numpy(dtype="float64"), median)
    rank = cells.rank(np.round(basis, _DECIMALS))
    p_first = np.nan_to_num(aligned["p_first"].to_numpy(dtype="float64"), nan=-1.0)
    best_named = cells.maximum(np.where(rank == 1, p_first, np.nan))
    rank = np.where(p_first > best_named, 1.0, rank)
    ranked = pd.Series(pd.array(rank, dtype="Float64").astype("Int64"))
    back = out[list(keys.columns)].merge(aligned.assign(_rank=ranked)[[*keys.columns, "_rank"]],
                                         on=list(keys.columns), how="left")
    return back["_rank"].to_numpy()


def _replicates_by_records(households, members, system, registry, peers, rows, table, cells, resampler, rng,
                           n_boot, progress) -> np.ndarray:
    """Composite of every replicate by recomputing the indicator tables on resampled records (any
    registry; slow: for indicator systems not written as household sums)."""
    lookup: dict = {}
    comp = np.full((n_boot, len(table)), np.nan)
    for b in tqdm(range(n_boot), disable=not progress, desc="bootstrap", unit="replicate"):
        h, m = resampler.draw(rng)
        frames = _source_frames(h, m, system, registry, peers)
        values = _indicator_values(frames, h, m, system, registry, peers, rows, lookup)
        comp[b] = _composite(pd.DataFrame(values, columns=system.indicator_codes), cells, system)[2]
    return comp


def replicate_weights(resampler: _Resampler, rng: np.random.Generator, n: int) -> np.ndarray:
    """Household weights of ``n`` replicates (n, households): how often each household is drawn when each
    village's households are drawn with replacement (multinomial counts within village). The draws are
    the ones :meth:`_Resampler.draw` makes, replicate after replicate, from the same generator."""
    size = resampler.n
    picks = resampler.unit_order[resampler.slot_low + rng.integers(0, np.broadcast_to(resampler.slot_size,
                                                                                      (n, size)))]
    flat = (np.arange(n)[:, None] * size + picks).ravel()
    return np.bincount(flat, minlength=n * size).reshape(n, size).astype("float64")


def _replicates_by_sums(household: sums.Sums, system, peers, group, table, full, resampler, rng, n_boot, level,
                        progress) -> np.ndarray:
    """Composite of every replicate from household sums: replicate weights times household terms."""
    groups = _cell_groups(household.cells, full, peers, group)
    at = pd.MultiIndex.from_frame(household.cells).get_indexer(
        pd.MultiIndex.from_frame(table[[*peers, "year"]].astype({p: "string" for p in peers})))
    comp = np.full((n_boot, len(table)), np.nan)
    chunk = max(1, min(n_boot, 4_000_000 // max(len(household.terms), 1)))
    absolute = not any(i.relative for i in system.indicators)
    bar = tqdm(total=n_boot, disable=not progress, desc="bootstrap", unit="replicate")
    for start in range(0, n_boot, chunk):
        n = min(chunk, n_boot - start)
        totals = household.totals(replicate_weights(resampler, rng, n))
        raw = sums.raw_values(totals, household, system)
        values = sums.shrink(raw, totals, sums.counted(totals, system), groups, system, level)
        picked = np.where((at >= 0)[None, :, None], values[:, np.maximum(at, 0), :], np.nan)
        if absolute:
            comp[start:start + n] = composite_of_values(picked, system)
        else:
            cells = _Cells(table, [*group, "year"])
            for b in range(n):
                comp[start + b] = _composite(pd.DataFrame(picked[b], columns=system.indicator_codes), cells,
                                             system)[2]
        bar.update(n)
    bar.close()
    return comp


def _summarise(keys: pd.DataFrame, comp: np.ndarray, rank: np.ndarray, last: np.ndarray,
               level: float) -> pd.DataFrame:
    """Percentile intervals and shares over replicates (rows of the arrays), one row per unit."""
    alpha = 1 - level
    count = (~np.isnan(comp)).sum(axis=0)
    out = keys.reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        # Units never scored in any replicate give all-NaN columns; their intervals stay missing.
        warnings.simplefilter("ignore", RuntimeWarning)
        out["composite_median"] = np.nanmedian(comp, axis=0)
        out["composite_low"] = np.nanquantile(comp, alpha / 2, axis=0)
        out["composite_high"] = np.nanquantile(comp, 1 - alpha / 2, axis=0)
        low = np.nanquantile(rank, alpha / 2, axis=0, method="inverted_cdf")
        high = np.nanquantile(rank, 1 - alpha / 2, axis=0, method="inverted_cdf")
        out["p_first"] = np.where(count > 0, (rank == 1).sum(axis=0) / count, np.nan)
        out["p_top3"] = np.where(count > 0, (rank <= 3).sum(axis=0) / count, np.nan)
        out["p_last"] = np.where(count > 0, (last == 1).sum(axis=0) / count, np.nan)
    out["rank_low"] = pd.array(low, dtype="Float64").astype("Int64")
    out["rank_high"] = pd.array(high, dtype="Float64").astype("Int64")
    out["n_boot"] = count.astype("int64")
    return out


def rank_statement(intervals: pd.DataFrame, peers=("county",), group=("prefecture",)) -> pd.DataFrame:
    """What may be said about each county's place, as codes for the report narrative.

    ``statement`` is the first that applies of:

    - ``unranked``: no rank; ``no_peers``: alone in its group-year;
    - ``clearly_first``: ranked 1 and its rank interval is [1, 1] or lies entirely above (better than)
      every other county's interval; ``clearly_last``: the mirror image at the bottom;
    - ``tied_first`` / ``tied_last``: ranked first / last but its interval overlaps others' (listed in
      ``overlapping``), so the text must say the place is shared within sampling error;
    - ``possibly_first`` / ``possibly_last``: not ranked first / last, but its interval reaches 1 / the
      number of peers;
    - ``middle``: otherwise.

    Parameters
    ----------
    intervals : DataFrame
        The result of :func:`bootstrap_scores` (needs ``rank``, ``rank_low``, ``rank_high``,
        ``n_peers`` and the key columns).

    Returns
    -------
    DataFrame
        ``*group``, ``*peers``, ``year``, ``rank``, ``rank_low``, ``rank_high``, ``n_peers``,
        ``statement`` (code), ``can_be_first``, ``can_be_last`` (bool: the interval reaches first /
        last place), ``n_overlapping`` and ``overlapping`` (list of the peers whose rank intervals
        overlap this county's; a tuple per peer when ``peers`` has several columns).
    """
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    keys, by = [*dict.fromkeys([*group, *peers]), "year"], [*group, "year"]
    cols = ["rank", "rank_low", "rank_high", "n_peers"]
    _require(intervals, [*keys, *cols], "intervals")
    base = intervals[[*keys, *cols]].reset_index(drop=True)
    base = base.astype({c: "Float64" for c in cols}).astype({c: "float64" for c in cols})
    base["_row"] = np.arange(len(base))
    lists, others = _overlaps(base, peers, by)
    base = base.join(others, on="_row")
    r, lo, hi, n = (base[c] for c in cols)
    first = r == 1
    last = (r == base.groupby(by, dropna=False)["rank"].transform("max")) & (n > 1)
    codes = np.select(
        [r.isna(), (base["best_other"].isna() & r.notna()) | (n <= 1),
         first & ((hi == 1) | (hi < base["best_other"])),
         last & ((lo == n) | (lo > base["worst_other"])),
         first, last, lo == 1, hi == n],
        ["unranked", "no_peers", "clearly_first", "clearly_last", "tied_first", "tied_last",
         "possibly_first", "possibly_last"], default="middle")
    out = intervals[[*keys, *cols]].reset_index(drop=True)
    out["statement"] = pd.array(codes, dtype="string")
    out["can_be_first"] = (lo == 1).to_numpy(dtype=bool)
    out["can_be_last"] = ((hi == n) & (n > 1)).to_numpy(dtype=bool)
    overlapping = base["_row"].map(lists)
    out["overlapping"] = [v if isinstance(v, list) else [] for v in overlapping]
    out["n_overlapping"] = out["overlapping"].map(len).astype("int64")
    return out[[*keys, *cols, "statement", "can_be_first", "can_be_last", "n_overlapping", "overlapping"]]


def _overlaps(base: pd.DataFrame, peers: list[str], by: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    """For each ranked row (``_row``): the peers whose rank intervals overlap its own, and the best
    ``rank_low`` and worst ``rank_high`` among all its other peers."""
    ranked = base[base["rank"].notna()]
    pairs = ranked.merge(ranked, on=by, suffixes=("", "_o"))
    pairs = pairs[pairs["_row"] != pairs["_row_o"]]
    others = pairs.groupby("_row").agg(best_other=("rank_low_o", "min"), worst_other=("rank_high_o", "max"))
    pairs = pairs[(pairs["rank_low"] <= pairs["rank_high_o"]) & (pairs["rank_low_o"] <= pairs["rank_high"])]
    label = pairs[peers[0] + "_o"] if len(peers) == 1 else pd.Series(
        list(zip(*(pairs[p + "_o"] for p in peers))), index=pairs.index)
    return label.groupby(pairs["_row"]).agg(list), others


# --------------------------------------------------------------------------------------------------
# How far one household moves a composite
# --------------------------------------------------------------------------------------------------

def flip_changes(households: pd.DataFrame, members: pd.DataFrame, system: System,
                 registry: Registry | None = None, peers=("county",), group=("prefecture",)) -> pd.DataFrame:
    """The change of every composite when one household's status flips on one few-event rate.

    For each indicator with ``events: true`` and each household-year in its denominator, the household's
    status is flipped (returned <-> not returned, need unmet <-> met, in the identification gap <-> not,
    risk eliminated <-> not; its numerator term becomes denominator - numerator) and every county's
    composite is recomputed, few-event estimation included (the prefecture rate and the shrinkage move
    too). Households with the same terms in the same county-year give the same change and are
    counted once.

    Returns
    -------
    DataFrame
        One row per distinct flip: ``*peers``, ``year`` and ``indicator`` of the flipped household,
        ``direction`` ('add' an event or 'remove' one), ``households`` (how many households this flip
        stands for), ``largest_change`` (the largest absolute change of any county's composite, on the
        0-100 scale) and ``own_change`` (the change of the flipped household's county), largest first.
    """
    peers, group = _keys(peers, "peers"), _keys(group, "group")
    registry = default_registry(system) if registry is None else registry
    table = compute_indicators(households, members, system, registry, peers, group)
    household = sums.household_sums(households, members, system, registry, peers)
    groups = _cell_groups(household.cells, table, peers, group)
    base_totals = household.totals()
    level = float(system.bootstrap.get("level", 0.90))

    def composites(totals: np.ndarray) -> np.ndarray:
        raw = sums.raw_values(totals, household, system)
        est = sums.shrink(raw, totals, sums.counted(totals, system), groups, system, level)
        return composite_of_values(est, system)

    base = composites(base_totals)
    frames = []
    for j, ind in enumerate(system.indicators):
        if not ind.events:
            continue
        k = sums.TERMS * j
        terms = household.terms
        rows = pd.DataFrame({"cell": household.cell, "num": terms[:, k], "den": terms[:, k + 1]})
        rows = rows[rows["den"] > 0]
        flips = rows.groupby(["cell", "num", "den"], as_index=False).size()
        batch = np.repeat(base_totals[None], len(flips), axis=0)
        at = np.arange(len(flips))
        cell, num, den = (flips[c].to_numpy() for c in ("cell", "num", "den"))
        batch[at, cell, k] += den - 2 * num
        batch[at, cell, k + 2] += np.where(num > 0, -1.0, 1.0)
        change = composites(batch) - base[None]
        frame = household.cells.iloc[cell].reset_index(drop=True)
        frame["indicator"] = ind.code
        frame["direction"] = np.where(num > 0, "remove", "add")
        frame["households"] = flips["size"].to_numpy()
        frame["largest_change"] = np.nanmax(np.abs(change), axis=1)
        frame["own_change"] = change[at, cell]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*peers, "year", "indicator", "direction", "households", "largest_change",
                                     "own_change"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("largest_change", ascending=False, ignore_index=True)
