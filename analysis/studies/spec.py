"""Specifications: the choices of a study as plain, frozen data, checked when they are made.

A notebook shows its study's specification in a visible cell; the build uses the same class with its
defaults for all regions, and the page records it (:meth:`Spec.as_dict`). A field with a wrong value is
refused before any estimation, with a message naming the field and what is allowed.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, get_args

from analysis.errors import ParameterError

#: Media type of a specification shown by a notebook cell; the runner reads it into the page's manifest.
MIME_TYPE = "application/vnd.county-evaluation.spec+json"


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base of every study specification (a frozen dataclass)."""

    def as_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready data (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self), ensure_ascii=False, default=list))

    def key(self) -> str:
        """A stable text of the fields: equal specifications give equal keys."""
        return json.dumps({"spec": type(self).__name__, **self.as_dict()}, sort_keys=True, ensure_ascii=False)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Shown in a notebook as text, and as data the runner records in the page's manifest."""
        return {"text/plain": repr(self), MIME_TYPE: {"spec": type(self).__name__, **self.as_dict()}}

    def replace(self, **changes) -> "Spec":
        """A copy with ``changes`` applied (and checked)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ParameterError(f"{type(self).__name__} has no field(s) {unknown}; its fields are "
                                 f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)


def _refuse(spec: Spec, field: str, value, allowed: str) -> None:
    raise ParameterError(f"{type(spec).__name__}.{field} = {value!r} is not allowed: {allowed}")


def check_choice(spec: Spec, field: str, options) -> None:
    """``spec.<field>`` must be one of the values of the ``Literal`` alias ``options``."""
    value, allowed = getattr(spec, field), get_args(options)
    if value not in allowed:
        _refuse(spec, field, value, f"use one of {list(allowed)}")


def check_choices(spec: Spec, field: str, options, minimum: int = 1) -> None:
    """``spec.<field>`` must be a tuple of distinct values of ``options``, at least ``minimum`` of them."""
    value, allowed = getattr(spec, field), get_args(options)
    if (not isinstance(value, tuple) or len(value) < minimum or len(set(value)) != len(value)
            or any(v not in allowed for v in value)):
        _refuse(spec, field, value, f"give a tuple of at least {minimum} distinct value(s) from {list(allowed)}")


def check_count(spec: Spec, field: str, minimum: int = 0) -> None:
    """``spec.<field>`` must be a whole number of at least ``minimum``."""
    value = getattr(spec, field)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _refuse(spec, field, value, f"give a whole number of at least {minimum}")


def check_share(spec: Spec, field: str) -> None:
    """``spec.<field>`` must be a number between 0 and 1."""
    value = getattr(spec, field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        _refuse(spec, field, value, "give a number between 0 and 1")


def check_interval(spec: Spec, field: str) -> None:
    """``spec.<field>`` must be a pair (low, high) with 0 <= low < high <= 1."""
    value = getattr(spec, field)
    ok = (isinstance(value, tuple) and len(value) == 2
          and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
          and 0 <= value[0] < value[1] <= 1)
    if not ok:
        _refuse(spec, field, value, "give a pair (low, high) with 0 <= low < high <= 1")
