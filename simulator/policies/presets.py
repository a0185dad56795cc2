"""Presets: a ``preset`` key fills a config with a real library's defaults (user keys win).

:func:`fill_preset` is the one merge; :class:`PresetConfig`, the base of every policy config with
presets, applies it before validation to the ``PRESETS`` its subclass declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import model_validator

from simulator.units import ConfigModel


def fill_preset(data: Any, presets: Mapping[str, Mapping[str, Any]]) -> Any:
    """Fill a raw config mapping with its named preset's values for the keys the user left out."""
    if not isinstance(data, Mapping):
        return data
    name = data.get("preset")
    if not isinstance(name, str) or name not in presets:
        return data  # no preset, or a bad name that the Literal field will report
    return {**presets[name], **data}


class PresetConfig(ConfigModel):
    """A config whose ``preset`` key fills in a real library's defaults for keys left out.

    Subclasses declare ``preset: Literal[...] | None`` and ``PRESETS`` (preset name -> defaults).
    Keys the user set always win over the preset's.
    """

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _fill_preset(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        cls._check_user_keys(data)
        return cls._after_preset(fill_preset(data, cls.PRESETS))

    @classmethod
    def preset_defaults(cls, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The defaults of the preset named in raw config ``data`` (empty if none or unknown)."""
        return fill_preset({"preset": data.get("preset")}, cls.PRESETS)

    @classmethod
    def _check_user_keys(cls, data: dict[str, Any]) -> None:
        """Hook: refuse keys the user wrote that make no sense together, or rewrite an alias
        (a copy of the user's mapping, before presets apply)."""

    @classmethod
    def _after_preset(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Hook: adjust the filled mapping (e.g. hand a preset on to a nested config)."""
        return data
