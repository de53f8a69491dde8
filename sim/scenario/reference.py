"""The scenario reference: ``docs/scenario-reference.md``, generated from the schema.

    python -m sim.scenario.reference            # (re)write docs/scenario-reference.md
    python -m sim.scenario.reference --check    # exit 1 if the committed file is stale
    python -m sim.scenario.reference --output PATH

Every field of :class:`~sim.scenario.schema.Scenario` is listed, walking nested sections,
lists of sections (``providers[]``), the contract types of the plan
(``plan[].contracts[type=mssp]``), provider behaviour, costs and levers: its dotted path,
meaning, unit, default, allowed values and source, all read from the field declarations
(:func:`sim.fields.param`). Section introductions come from the model docstrings;
the cross-field rules enforced by the validators are listed under :data:`RULES`.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.scenario.schema import Scenario

#: Where the reference lives in a source checkout.
DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"
REGENERATE = "python -m sim.scenario.reference"

#: Cross-field rules, by section path: the model validators of schema.py and payment.py
#: enforce them but have no declarative form to read them from, so they are stated here.
RULES: dict[str, list[str]] = {
    "": [
        "`name` is never inherited through `extends:`; it defaults to the file's stem.",
        "The plan's contracts may only name declared payers and providers; a contract that "
        "needs spending history (capitation without `area_rate_pmpm_usd`, bundled, mssp, reach) "
        "needs the three years before its start, so it must start late enough for "
        "`warmup_years` to supply them (the loader says which years are missing).",
    ],
    "population.age_bands": ["The three shares must sum to 1."],
    "providers[]": [
        "Provider names are unique and differ from payer names and from `population`.",
        "At least one provider is of kind `primary_care`; the `panel_share` of the "
        "`primary_care` providers sums to 1.",
        "At most one provider of each other kind (services of a kind are routed to it).",
    ],
    "payers[]": ["Payer names are unique; the shares sum to 1."],
    "plan[]": [
        "Years are 0-based plan years inside the horizon.",
        "capitation, mssp and reach contracts are held by a `primary_care` provider; a "
        "provider holds at most one of each with a payer in a year, and at most one "
        "contract that pays its primary care instead of fee-for-service.",
    ],
    "quality": ["At least one measure has a positive weight."],
    "clinical.post_acute.after_joint_replacement": [
        "`snf_share + irf_share + home_health_share` is at most 1 (the rest of the "
        "joint-replacement discharges go home without post-acute services)."],
    "quality.readmission_rate_30d": ["`floor` and `ceiling` must differ (in every measure)."],
}

#: Abbreviations used in the `source` column.
ABBREVIATIONS = [
    ("PUF2024, CMS MSSP ACO PUF PY2024", "CMS Medicare Shared Savings Program ACO public use "
     "file, performance year 2024; N_AB-weighted means over all ACOs (`P_EM_PCP_Vis`, `ADM`, "
     "`CapAnn_*` ... are its column names)"),
    ("CCW", "CMS Chronic Conditions Data Warehouse (Medicare FFS, aged 65+, 2018)"),
    ("CMS-HCC V24", "CMS hierarchical condition category risk-adjustment model, version 24"),
    ("PFS, OPPS, ASC, CLFS, IPPS, HH PPS", "Medicare Physician Fee Schedule, Hospital "
     "Outpatient and Ambulatory Surgical Center payment systems, Clinical Laboratory Fee "
     "Schedule, Inpatient and Home Health prospective payment systems"),
    ("MS-DRG, APC", "Medicare severity diagnosis-related group (inpatient), ambulatory "
     "payment classification (hospital outpatient)"),
    ("CY, FY", "calendar year, federal fiscal year (of a payment rule)"),
    ("HOPD", "hospital outpatient department"),
    ("HRRP", "Hospital Readmissions Reduction Program"),
    ("TCM", "transitional care management (CPT 99495/99496)"),
    ("TKA, THA", "total knee and total hip arthroplasty"),
    ("CQS", "composite quality score (BPCI Advanced)"),
    ("EQ-5D", "EuroQol five-dimension health utility instrument"),
    ("42 CFR 425", "Medicare Shared Savings Program regulations (see [contracts.md](contracts.md))"),
    ("BPCI Advanced, ACO REACH, CJR", "CMS Innovation Center models: Bundled Payments for "
     "Care Improvement Advanced, ACO Realizing Equity, Access, and Community Health, "
     "Comprehensive Care for Joint Replacement"),
    ("QPP, MIPS", "Quality Payment Program, Merit-based Incentive Payment System"),
    ("MedPAC", "Medicare Payment Advisory Commission (Data Book, March reports)"),
    ("HCUP", "AHRQ Healthcare Cost and Utilization Project"),
    ("AHRQ PQI", "AHRQ Prevention Quality Indicators (ambulatory-care-sensitive admissions)"),
    ("NCQA HEDIS", "Healthcare Effectiveness Data and Information Set"),
    ("MGMA", "Medical Group Management Association provider productivity survey"),
    ("SSA", "Social Security Administration period life table"),
    ("RAND HIE", "RAND Health Insurance Experiment (1974-1982)"),
    ("CDC NHAMCS", "National Hospital Ambulatory Medical Care Survey"),
    ("IOM", "Institute of Medicine (now the National Academy of Medicine)"),
    ("DME, SNF, LOS, FTE, QALY", "durable medical equipment, skilled nursing facility, length "
     "of stay, full-time equivalent, quality-adjusted life year"),
    ("assumption", "no published source: a judgement, stated so it can be challenged"),
]

_BOUND_WORDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


@dataclass(frozen=True)
class Entry:
    """One row of the reference: a field."""

    path: str
    meaning: str
    unit: str
    default: str
    allowed: str
    source: str


@dataclass
class Section:
    """A section of the scenario (one model at one path) and its fields."""

    path: str
    intro: list[str]
    entries: list[Entry] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"`{self.path}`" if self.path else "Top-level settings"

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9_]+", "-", self.path.lower()).strip("-") or "top-level"

    @property
    def depth(self) -> int:
        return 0 if not self.path else self.path.count(".") + 1


# --------------------------------------------------------------------------- types


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp: Any) -> tuple[list[Any], bool]:
    """Members of a union (or the type itself) and whether ``None`` is allowed."""
    tp = _strip(tp)
    if get_origin(tp) in (Union, types.UnionType):
        args = [_strip(a) for a in get_args(tp)]
    else:
        args = [tp]
    return [a for a in args if a is not type(None)], type(None) in args


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _models_of(tp: Any) -> tuple[str, list[type[BaseModel]]] | None:
    """``("one", [M])`` for a (optional) model, ``("list", [M, ...])`` for a list of models
    or of a union of models; ``None`` for a leaf."""
    members, _ = _members(tp)
    if len(members) != 1:
        return ("one", members) if members and all(map(_is_model, members)) else None
    (only,) = members
    if _is_model(only):
        return "one", [only]
    if get_origin(only) is list:
        items, _ = _members(get_args(only)[0])
        if items and all(map(_is_model, items)):
            return "list", items
    return None


def _describe(tp: Any) -> str:
    tp = _strip(tp)
    origin = get_origin(tp)
    if origin is Literal:
        values = [f"`{v}`" for v in get_args(tp)]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if origin is list:
        item = _describe(get_args(tp)[0]).removeprefix("one of ")
        return "list of " + {"whole number": "whole numbers", "number": "numbers"}.get(item, item)
    if origin is dict:
        values, _ = _members(get_args(tp)[1])
        return "mapping of names to " + " / ".join(_describe(v) for v in values)
    return {bool: "true or false", int: "whole number", float: "number", str: "text"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _bounds(f: FieldInfo) -> str:
    got = {}
    for m in f.metadata:
        for key in ("ge", "gt", "le", "lt"):
            value = getattr(m, key, None)
            if value is not None and isinstance(m, annotated_types.BaseMetadata):
                got[key] = value
    if "ge" in got and "le" in got:
        return f"{_num(got['ge'])} to {_num(got['le'])}"
    return ", ".join(f"{_BOUND_WORDS[k]} {_num(v)}" for k, v in got.items())


def _allowed(f: FieldInfo) -> str:
    members, optional = _members(f.annotation)
    bounds = _bounds(f)
    parts = []
    for m in members:
        text = _describe(m)
        if m in (int, float) and bounds:
            text = bounds if m is float else f"whole number, {bounds}"
        parts.append(text)
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    for m in f.metadata:
        pattern = getattr(m, "pattern", None)
        if pattern:
            text += f" matching `{pattern}`"
        if isinstance(m, annotated_types.MinLen) and m.min_length == 1 and not pattern:
            text = f"non-empty {text}"
    return f"{text}, or none" if optional else text


# --------------------------------------------------------------------------- values


def _num(value: float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f"{value:.10g}"


def _plain(value: Any) -> Any:
    """``value`` as plain YAML data; model instances keep only what differs from defaults
    (and always their ``type``)."""
    if isinstance(value, BaseModel):
        out = {}
        for name, f in type(value).model_fields.items():
            v = getattr(value, name)
            if name == "type" or f.is_required() or v != f.get_default(
                    call_default_factory=True):
                out[name] = _plain(v)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _default(value: Any) -> str:
    if value is _REQUIRED:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, bool | int | float):
        return _num(value)
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    if isinstance(value, list) and not value:
        return "`[]`"
    text = yaml.safe_dump(_plain(value), default_flow_style=True, width=10**6, sort_keys=False)
    return f"`{text.strip()}`"


_REQUIRED = object()


def _default_of(f: FieldInfo, parent: BaseModel | None, name: str) -> Any:
    if parent is not None:
        return getattr(parent, name)
    if f.is_required():
        return _REQUIRED
    return f.get_default(call_default_factory=True)


def _text(text: str) -> str:
    """Docstring or description text as one Markdown paragraph."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return " ".join(text.split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*") if text else "—"


def _doc(model: type[BaseModel]) -> list[str]:
    doc = inspect.getdoc(model) or ""
    return [_text(p) for p in re.split(r"\n\s*\n", doc) if p.strip()]


# --------------------------------------------------------------------------- walking


def sections(model: type[BaseModel] = Scenario) -> list[Section]:
    """Every section of ``model`` (default: the whole scenario), depth first."""
    out: list[Section] = []
    _walk(model, "", None, [], out)
    return out


def _walk(model: type[BaseModel], path: str, instance: BaseModel | None, intro: list[str],
          out: list[Section]) -> None:
    doc = _doc(model)
    if set(_words(" ".join(intro))) <= set(_words(" ".join(doc))):
        intro = []  # the docstring already says it
    rules = RULES.get(path, [])
    section = Section(path, intro + [p for p in doc if p not in intro] + (
        ["Checked when the file is loaded:\n\n" + "\n".join(f"- {r}" for r in rules)]
        if rules else []))
    out.append(section)
    children: list[tuple[type[BaseModel], str, BaseModel | None, list[str]]] = []
    for name, f in sorted(model.model_fields.items(), key=lambda item: item[0] != "type"):
        fpath = f"{path}.{name}" if path else name
        default = _default_of(f, instance, name)
        description = _text(f.description or "")
        if name == "type" and get_origin(_strip(f.annotation)) is Literal:
            description = f"Selects this contract: write `type: {f.default}`."
        nested = _models_of(f.annotation)
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        unit, source = str(extra.get("unit", "")), str(extra.get("source", ""))
        if nested is None:
            section.entries.append(Entry(fpath, description, unit, _default(default),
                                         _allowed(f), source))
            continue
        kind, models = nested
        _, optional = _members(f.annotation)
        if kind == "one" and len(models) == 1:
            child = [(models[0], fpath, default if isinstance(default, BaseModel) else None)]
            allowed = "a mapping (below)"
        else:
            if len(models) == 1:
                child = [(models[0], f"{fpath}[]", None)]
                allowed = "a list of mappings (below)"
            else:  # a discriminated union: one section per `type:`
                child = [(m, f"{fpath}[type={m.model_fields['type'].default}]", None)
                         for m in models]
                allowed = "a list of " + ", ".join(
                    f"[`type: {m.model_fields['type'].default}`](#{_anchor(p)})"
                    for m, p, _ in child)
        if optional:
            allowed += ", or none"
        links = ", ".join(f"[`{p}`](#{_anchor(p)})" for _, p, _ in child)
        shown_default = _default(default) if not isinstance(default, BaseModel) else "below"
        if len(models) == 1:
            allowed = allowed.replace("(below)", f"({links})")
        section.entries.append(Entry(fpath, description, unit, shown_default, allowed, source))
        for m, p, inst in child:  # the items of a union are introduced by their docstring
            children.append((m, p, inst, [description] if description and len(child) == 1
                             else []))
    for m, p, inst, child_intro in children:
        _walk(m, p, inst, child_intro, out)


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2]


def _anchor(path: str) -> str:
    return Section(path, []).anchor


def entries() -> Iterator[Entry]:
    """Every field of the scenario."""
    for s in sections():
        yield from s.entries


# --------------------------------------------------------------------------- rendering


def render() -> str:
    """The Markdown text of ``docs/scenario-reference.md``."""
    all_sections = sections()
    n_fields = sum(1 for s in all_sections for e in s.entries
                   if not e.allowed.startswith(("a mapping", "a list of mappings", "a list of [")))
    lines = [
        "<!-- Generated from the scenario schema (sim/scenario/) by "
        f"`{REGENERATE}`; do not edit by hand. -->",
        "",
        "# Scenario reference",
        "",
        "Every field a scenario file can set: its meaning, unit, default, allowed values and "
        f"the source of its default ({n_fields} fields in {len(all_sections)} sections). "
        "A scenario file is YAML; any field left out takes its default, and unknown keys are "
        "refused with the list of valid ones.",
        "",
        "- **Paths.** `population.age_bands.age_65_74` is the key `age_65_74` inside "
        "`age_bands` inside `population`. `providers[].levers.prevention_effort` is a key "
        "of every item of the list `providers`; `plan[].contracts[type=mssp].track` is a key "
        "of the items of `contracts` written with `type: mssp`.",
        "- **`extends:`** (top level) names a base scenario file (or a list of them, applied "
        "in order), relative to the extending file; mappings merge key by key, lists and "
        "other values replace the base's. This is how plans are compared: "
        "`scenarios/aco_enhanced.yaml` extends `aco_basic_glide.yaml`, which extends "
        "`ffs_baseline.yaml`.",
        "- **Uncertain parameters.** Any field whose allowed values are numbers (not whole "
        "numbers) may be written as a distribution, e.g. "
        "`rate_per_year: {dist: gamma, mean: 0.15, sd: 0.02}`; a top-level "
        "`correlation_groups:` correlates them. See [experiments.md](experiments.md).",
        "- **Defaults** of nested sections are the values in force when the section is left "
        "out (e.g. each condition has its own prevalence); items of lists start from the "
        "defaults shown in their section.",
        "- **Sources** cite where a default comes from; *assumption* means there is none. "
        "Abbreviations are listed [at the end](#abbreviations-used-in-sources). The payment "
        "rules themselves are described in [contracts.md](contracts.md), provider behaviour "
        "in [behaviour.md](behaviour.md).",
        "",
        "## Contents",
        "",
    ]
    for s in all_sections:
        indent = "  " * max(s.depth - 1, 0)
        lines.append(f"{indent}- [{s.title}](#{s.anchor})")
    for s in all_sections:
        hashes = "##" if s.depth <= 1 else "###"
        lines += ["", f'<a id="{s.anchor}"></a>', "", f"{hashes} {s.title}", ""]
        for paragraph in s.intro:
            lines += [paragraph, ""]
        lines += ["| field | meaning | unit | default | allowed | source |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for e in s.entries:
            lines.append("| " + " | ".join([f"`{e.path}`", _cell(e.meaning), _cell(e.unit),
                                            _cell(e.default), _cell(e.allowed),
                                            _cell(e.source)]) + " |")
    lines += ["", "## Abbreviations used in sources", ""]
    lines += [f"- **{short}**: {long}." for short, long in ABBREVIATIONS]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the scenario reference; return the exit code."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__spec__.name if __spec__ else 'sim.scenario.reference'}",
        description="Generate docs/scenario-reference.md from the scenario schema.",
        epilog=f"example:\n  {REGENERATE} --check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT,
                        help=f"file to write or check (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the file differs from the schema")
    args = parser.parse_args(argv)
    if args.output == DEFAULT_OUTPUT and not (DEFAULT_OUTPUT.parents[1] / "pyproject.toml").is_file():
        parser.error("not running from a vbcsim source checkout; give --output PATH")
    text = render()
    if args.check:
        try:
            current = args.output.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            state = "is missing" if current is None else "is stale"
            print(f"{args.output} {state}; regenerate it with `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Entry", "Section", "entries", "main", "render", "sections"]
