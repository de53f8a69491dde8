"""Replace one marked section of a Markdown file (benchmarks that record their results)."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, start: str, end: str, text: str, heading: str) -> None:
    """Write ``text`` between the markers ``start`` and ``end`` of ``path``; without the
    markers, append them with ``text`` under the section title ``heading``."""
    doc = path.read_text()
    block = f"{start}\n{text}{end}"
    if start in doc:
        a, b = doc.index(start), doc.index(end) + len(end)
        doc = doc[:a] + block + doc[b:]
    else:
        doc = doc.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    path.write_text(doc)
