"""The rules every setting a user writes obeys, parameters and lever settings alike.

pydantic's lax mode reads the text ``"0.2"`` as the number 0.2 and the YAML boolean ``true`` as 1.
A scenario file is then accepted with a typo a reader would not notice, and a sweep whose axis mixes
``0.1`` and ``"0.2"`` gets a column of mixed types in its tables. So a numeric setting takes numbers
only (numpy's included), finite ones, and an integer setting one that fits the tables' 64-bit
integers.
"""

from __future__ import annotations

import numbers
import types
import typing
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

INT64_MAX = 2**63 - 1
"""The largest integer a results table stores (a 64-bit column)."""


class UserSettings(BaseModel):
    """Base of the settings models: unknown keys refused, numbers finite and written as numbers."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kind = _numeric(field.annotation)
        if kind is not None:
            listed = kind.listed and hasattr(value, "__iter__") and not isinstance(value, str | bytes | dict)
            for item in value if listed else [value]:
                _check_number(item, kind.integer)
        return value


class _Kind(typing.NamedTuple):
    integer: bool
    listed: bool


def _numeric(annotation: Any) -> _Kind | None:
    """Whether a field holds a number (int, float, optionally None) or a list of them."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _numeric(args[0]) if len(args) == 1 else None
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        inner = _numeric(args[0]) if args else None
        return _Kind(inner.integer, True) if inner is not None and not inner.listed else None
    if annotation is int or annotation is float:
        return _Kind(annotation is int, False)
    return None


def _check_number(value: Any, integer: bool) -> None:
    if value is None:
        return
    number_like = isinstance(value, numbers.Number) or (hasattr(value, "__float__") and not isinstance(value, str))
    boolean = isinstance(value, bool | np.bool_)
    if boolean or not number_like:  # a 0-d numpy array is number-like
        what = "a boolean" if boolean else "text" if isinstance(value, str) else type(value).__name__
        raise PydanticCustomError(
            "number_type", "Input should be a valid {kind}, not {what}",
            {"kind": "integer" if integer else "number", "what": what},
        )
    if integer and isinstance(value, numbers.Integral) and not -INT64_MAX - 1 <= int(value) <= INT64_MAX:
        raise PydanticCustomError("int_too_large", "Input should be a 64-bit integer, from {low} to {high}",
                                  {"low": str(-INT64_MAX - 1), "high": str(INT64_MAX)})


def first_error(exc: ValidationError) -> ErrorDetails:
    """The error of ``exc`` to report: an unknown key before any other, since a misspelt key also
    leaves the key it meant missing, and "Field required" would hide the typo."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
