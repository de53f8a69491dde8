"""Which settler settles a contract: the built-in types and the custom-contract route.

A contract settler (:class:`~sim.contracts.settler.BaseSettler`) is built from its validated
configuration and a label. Built-in contract types are registered in one list,
:data:`sim.contracts.registry.SETTLERS`.

Custom contracts (``type: custom, kind: <kind>``) are Python classes. A scenario file never
runs code by itself: ``kind`` resolves to a class registered in this process with
:func:`register_custom`, or an installed entry point of the ``vbcsim.contracts`` group;
a ``package.module:Class`` path is imported only with the user's opt-in (``--allow-code``,
``allow_code=True``), and whatever is found must be a settler class before it is used.
Resolution happens in the parent process; worker processes receive the classes.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Iterable
from typing import Any

from sim.contracts.registry import BUILT_IN
from sim.contracts.settler import SETTLER_ATTRIBUTES, SETTLER_METHODS, BaseSettler

#: Payment models written in Python, selected with ``type: custom, kind: <name>``.
CUSTOM_REGISTRY: dict[str, type] = {}


def register_custom(kind: str, cls: type) -> type:
    """Make a Python settler class available to scenarios as ``type: custom, kind: <kind>``.

    The class follows the settler interface (subclass ``sim.contracts.BaseSettler``):
    ``settle``, and ``covered``, ``coverage`` and ``expected_payoff`` where they apply.
    """
    CUSTOM_REGISTRY[kind] = cls
    return cls


def settler_for(config: Any, label: str) -> BaseSettler:
    """The settler of a contract configuration."""
    kind = getattr(config, "kind", None)
    if config.type not in BUILT_IN and kind is not None:  # type: custom
        return _custom_class(kind, label)(config, label)
    try:
        cls = BUILT_IN[config.type]
    except KeyError:
        raise ValueError(f"no contract registered for type {config.type!r}; "
                         f"registered: {', '.join(sorted(BUILT_IN))}") from None
    return cls(config, label)


# --------------------------------------------------------------------------- custom code

#: Entry-point group under which installed packages offer custom contracts
#: (``[project.entry-points."vbcsim.contracts"] my_kind = "my_pkg.contracts:MyKind"``).
ENTRY_POINT_GROUP = "vbcsim.contracts"

#: Custom settler classes resolved in this process from an installed entry point or, with
#: the user's opt-in (``allow_code``), from a ``package.module:Class`` path; keyed by kind.
RESOLVED: dict[str, type] = {}


class CustomCodeError(ValueError):
    """A custom contract that cannot be used: unknown, not allowed, or not a settler."""


def is_code_path(kind: str) -> bool:
    """Whether ``kind`` names Python code by path (``package.module:Class``)."""
    return ":" in kind


def allow_code_hint(kind: str) -> str:
    """How to opt in to importing ``kind``."""
    return (f"'{kind}' names Python code to import, which scenario files may do only when "
            "you allow it: pass --allow-code to vbcsim (run, compare, validate, "
            "sensitivity) or allow_code=True to sim.run / sim.compare / sim.load_scenario, "
            "if you trust this file; or install the contract as an entry point of the "
            f"'{ENTRY_POINT_GROUP}' group, or register it with "
            "sim.settlement.register_custom")


def check_settler_class(obj: Any, kind: str) -> type:
    """``obj`` if it is a contract settler class, else :class:`CustomCodeError`.

    A settler class subclasses :class:`~sim.contracts.settler.BaseSettler`, or at least has
    its methods and attributes (``SETTLER_METHODS``, ``SETTLER_ATTRIBUTES``). Nothing of
    ``obj`` is called.
    """
    if not isinstance(obj, type):
        raise CustomCodeError(f"custom contract '{kind}' is {_what(obj)}, not a contract "
                              "settler class; refused (nothing was called)")
    if issubclass(obj, BaseSettler):
        return obj
    missing = [f"{m} method" for m in SETTLER_METHODS if not callable(getattr(obj, m, None))]
    missing += [f"{a} attribute" for a in SETTLER_ATTRIBUTES if not hasattr(obj, a)]
    if missing:
        raise CustomCodeError(f"custom contract '{kind}' is the class {obj.__qualname__}, "
                              f"which is not a contract settler (no {', '.join(missing)}; "
                              "subclass sim.contracts.BaseSettler); refused")
    return obj


def _what(obj: Any) -> str:
    if callable(obj):
        return f"the function {getattr(obj, '__qualname__', type(obj).__name__)}"
    return f"a {type(obj).__name__} value"


def _entry_point_class(kind: str) -> type | None:
    """The settler class an installed package offers as entry point ``kind``, if any."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            try:
                obj = ep.load()
            except Exception as exc:  # an installed package that fails to import
                raise CustomCodeError(f"custom contract '{kind}': entry point {ep.value!r} "
                                      f"of '{ENTRY_POINT_GROUP}' cannot be loaded: "
                                      f"{type(exc).__name__}: {exc}") from None
            return check_settler_class(obj, kind)
    return None


def _import_path(kind: str) -> type:
    """Import ``package.module:Class`` (the caller has the user's opt-in) and check it."""
    module, _, name = kind.partition(":")
    if not module or not name or not all(
            part.isidentifier() for part in (*module.split("."), *name.split("."))):
        raise CustomCodeError(f"custom contract '{kind}': expected 'package.module:Class'")
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise CustomCodeError(f"cannot import custom contract '{kind}': {exc}") from None
    return check_settler_class(obj, kind)


def resolve_custom(kind: str, *, allow_code: bool = False) -> type:
    """The settler class of ``type: custom, kind: <kind>``, resolved in this process.

    In order: a class registered with :func:`register_custom`, one resolved before, an
    installed entry point of the ``vbcsim.contracts`` group, and, only with ``allow_code``,
    a ``package.module:Class`` path. The object found must be a settler class
    (:func:`check_settler_class`) before anything is called. Raises
    :class:`CustomCodeError`.
    """
    if kind in CUSTOM_REGISTRY:
        return CUSTOM_REGISTRY[kind]
    if kind in RESOLVED:
        return RESOLVED[kind]
    cls = _entry_point_class(kind)
    if cls is None and is_code_path(kind):
        if not allow_code:
            raise CustomCodeError(f"custom contract not allowed: {allow_code_hint(kind)}")
        cls = _import_path(kind)
    if cls is None:
        raise CustomCodeError(
            f"no custom contract registered as '{kind}'; registered in this process: "
            f"{', '.join(sorted(CUSTOM_REGISTRY)) or 'none'} (register it with "
            "sim.settlement.register_custom before the run, install it as an entry point of "
            f"'{ENTRY_POINT_GROUP}', or give kind: 'package.module:Class' with --allow-code / "
            "allow_code=True)")
    RESOLVED[kind] = cls
    return cls


def custom_kinds(scenarios: Iterable[Any]) -> list[str]:
    """The ``kind`` of every custom contract of ``scenarios``, sorted, once each."""
    return sorted({c.kind for sc in scenarios for period in sc.plan for c in period.contracts
                   if c.type not in BUILT_IN})


def custom_contracts_for_workers(
    scenarios: Iterable[Any], *, ship: bool = True, allow_code: bool = False
) -> tuple[tuple[str, bytes], ...]:
    """Resolve, in this process, every custom contract ``scenarios`` use (see
    :func:`resolve_custom`), and serialise them for worker processes (which start without
    this process's registrations and never import code named by a scenario themselves).

    ``ship=False`` only resolves (an in-process run). ``cloudpickle`` serialises a class
    defined in ``__main__`` (a notebook, a script) by value, and one from an importable
    module by reference. Raises ``ValueError`` (:class:`CustomCodeError`) naming the
    contract if one cannot be resolved or serialised.
    """
    classes = {kind: resolve_custom(kind, allow_code=allow_code)
               for kind in custom_kinds(scenarios)}
    if not classes or not ship:
        return ()
    import cloudpickle

    out = []
    for kind, cls in classes.items():
        try:
            out.append((kind, cloudpickle.dumps(cls)))
        except Exception as exc:
            raise CustomCodeError(
                f"custom contract {kind!r} ({cls.__qualname__}) cannot be sent to worker "
                f"processes: {type(exc).__name__}: {exc}; run in this process (workers=1) or "
                "define it in an importable module") from exc
    return tuple(out)


_RECEIVED: dict[str, bytes] = {}


def install_custom_contracts(contracts: Iterable[tuple[str, bytes]]) -> None:
    """Register, in a worker process, the settlers of :func:`custom_contracts_for_workers`
    (again only when one changed since the last call, e.g. on a long-lived Dask worker)."""
    for kind, blob in contracts:
        if _RECEIVED.get(kind) != blob:
            CUSTOM_REGISTRY[kind] = pickle.loads(blob)  # noqa: S301 - sent by our own parent
            _RECEIVED[kind] = blob


def _custom_class(kind: str, label: str) -> type:
    """The settler class of a custom contract: registered, resolved before (in the parent,
    then sent here), or an installed entry point. A ``package.module:Class`` path is never
    imported here: it is resolved when the scenario is loaded with ``allow_code``."""
    try:
        return resolve_custom(kind, allow_code=False)
    except CustomCodeError as exc:
        raise CustomCodeError(f"contract {label}: {exc}") from None
