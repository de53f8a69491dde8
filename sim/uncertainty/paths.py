"""Paths into scenario data: list items named by their ``name`` (for display and for
parameter paths such as ``providers.primary_care_group.levers.prevention_effort``) or by
their index (in the data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def data_path(data: Any, keys: Sequence[str]) -> str:
    """The display path of ``keys`` in ``data``: list items named by their ``name``."""
    parts: list[str] = []
    cur = data
    for key in keys:
        if isinstance(cur, list):
            item = cur[int(key)]
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(name if isinstance(name, str) and name else str(key))
            cur = item
        else:
            parts.append(str(key))
            cur = cur.get(key) if isinstance(cur, dict) else None
    return ".".join(parts)


def locate(data: Any, path: str) -> tuple[str, ...]:
    """The data keys of a display path (list items by ``name`` or index). ``KeyError`` if
    the path leads nowhere."""
    parts = path.split(".")
    keys: list[str] = []
    cur = data
    i = 0
    while i < len(parts):
        if isinstance(cur, dict):
            if parts[i] not in cur:
                raise KeyError(f"no field '{parts[i]}' at '{'.'.join(parts[:i]) or '(top)'}'")
            keys.append(parts[i])
            cur = cur[parts[i]]
            i += 1
        elif isinstance(cur, list):
            for j in range(len(parts), i, -1):  # names may contain dots: longest match first
                name = ".".join(parts[i:j])
                hits = [k for k, item in enumerate(cur)
                        if isinstance(item, dict) and item.get("name") == name]
                if hits:
                    keys.append(str(hits[0]))
                    cur = cur[hits[0]]
                    i = j
                    break
            else:
                if parts[i].isdigit() and int(parts[i]) < len(cur):
                    keys.append(parts[i])
                    cur = cur[int(parts[i])]
                    i += 1
                else:
                    raise KeyError(f"no item named or numbered '{parts[i]}' in "
                                   f"'{'.'.join(parts[:i])}'")
        else:
            raise KeyError(f"'{'.'.join(parts[:i])}' is a value, not a section")
    return tuple(keys)


def get_at(data: Any, keys: Sequence[str]) -> Any:
    """The value at data keys ``keys`` (list items by index)."""
    cur = data
    for key in keys:
        cur = cur[int(key)] if isinstance(cur, list) else cur[key]
    return cur


def set_at(data: Any, keys: Sequence[str], value: Any) -> None:
    """Put ``value`` at data keys ``keys`` (the parent must exist)."""
    cur = get_at(data, keys[:-1])
    if isinstance(cur, list):
        cur[int(keys[-1])] = value
    else:
        cur[keys[-1]] = value



__all__ = ["data_path", "get_at", "locate", "set_at"]
