"""The commented YAML of a PUF scenario: every derived value names its PUF column."""

from __future__ import annotations

from typing import Any

import yaml


def _scalar(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _emit(node: dict[str, Any], comments: dict[str, str], prefix: str, indent: int,
          out: list[str]) -> None:
    pad = "  " * indent
    for key, value in node.items():
        path = f"{prefix}{key}"
        note = comments.get(path)
        if isinstance(value, dict):
            out.append(f"{pad}{key}:" + (f"  # {note}" if note else ""))
            _emit(value, comments, path + ".", indent + 1, out)
        elif isinstance(value, list):
            if note:
                out.append(f"{pad}# {note}")
            out.append(f"{pad}{key}:")
            block = yaml.safe_dump(value, sort_keys=False, default_flow_style=None, width=100)
            out.extend(f"{pad}  {line}" for line in block.rstrip().splitlines())
        else:
            out.append(f"{pad}{key}: {_scalar(value)}" + (f"  # {note}" if note else ""))


def to_yaml(data: dict[str, Any], comments: dict[str, str], header: list[str]) -> str:
    """``data`` as YAML, each value followed by its comment, after ``header`` comment lines."""
    out = [f"# {line}" if line else "#" for line in header]
    _emit(data, comments, "", 0, out)
    return "\n".join(out) + "\n"
