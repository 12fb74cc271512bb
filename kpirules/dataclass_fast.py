"""``dataclass`` as the standard library's, made without compiling five methods a class.

Python 3.11's ``dataclasses.dataclass`` writes ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` and a frozen class's ``__setattr__``/``__delattr__`` as source text and
compiles each one separately: about 0.3 ms a class, which for the 40-odd classes that
``kpirules check`` imports was a sixth of a short run (issue 14). Here the standard
``dataclass`` still collects the fields (``dataclasses.fields``, ``replace``, ``asdict``,
``is_dataclass`` and ``__match_args__`` work as ever) with its method making turned off;
only ``__init__`` is compiled (it runs for every node and result, so it stays generated
code), and the other methods are shared functions that read the field names from a tuple.
They behave as the generated ones do: equality and hashes on the same tuples of the fields
that compare, the same repr, ``FrozenInstanceError`` on assignment, pickling of frozen
slotted classes.

Supported: ``frozen``, ``slots``, ``kw_only`` and fields with ``default``,
``default_factory``, ``compare``, ``repr``, ``hash`` and ``kw_only``; anything else (order,
``__post_init__``, ``init=False`` fields) raises ``TypeError`` so that such a class uses
``dataclasses.dataclass`` itself. Type checkers see ``dataclasses.dataclass`` (the import in
``dataclass_transform``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, FrozenInstanceError, field
from operator import attrgetter
from typing import Any, Callable, dataclass_transform

__all__ = ["dataclass", "field"]

_object_setattr = object.__setattr__


@dataclass_transform(field_specifiers=(field, dataclasses.Field))
def dataclass(cls: type | None = None, /, *, frozen: bool = False, slots: bool = False,
              kw_only: bool = False) -> Any:
    """``@dataclass``, ``@dataclass(frozen=True, slots=True)``, as ``dataclasses.dataclass``."""

    def wrap(cls: type) -> type:
        return _process(cls, frozen=frozen, slots=slots, kw_only=kw_only)

    return wrap if cls is None else wrap(cls)


def _process(cls: type, *, frozen: bool, slots: bool, kw_only: bool) -> type:
    own = cls.__dict__
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: __post_init__ needs dataclasses.dataclass")
    # The standard dataclass writes "Name(signature)" as the docstring of a class without
    # one, through inspect.signature (slow); the field names (set below) say the same.
    undocumented = own.get("__doc__") is None
    if undocumented:
        cls.__doc__ = cls.__name__
    has_eq = "__eq__" in own
    explicit_hash = own.get("__hash__", MISSING)
    explicit_hash = not (explicit_hash is MISSING or (explicit_hash is None and has_eq))
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False, frozen=False, slots=slots,
                                kw_only=kw_only)
    own = cls.__dict__
    fields = dataclasses.fields(cls)  # inherited ones first, as the standard init takes them
    if undocumented:
        cls.__doc__ = f"{cls.__name__}({', '.join(f.name for f in fields)})"
    for f in fields:
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: init=False needs dataclasses.dataclass")
    methods: dict[str, Any] = {}  # set after, all at once (mypy: no "assignment to a method")
    if "__init__" not in own:
        methods["__init__"] = _init(cls, fields, frozen)
    shown = tuple(f.name for f in fields if f.repr)
    if "__repr__" not in own:
        methods["__repr__"] = _repr(shown)
    compared = _tuple_getter(tuple(f.name for f in fields if f.compare))
    if not has_eq:
        methods["__eq__"] = _eq(compared)
    if not explicit_hash:
        # As dataclasses' table for eq=True: frozen -> hash of the compared fields (those
        # with hash=None or True), else unhashable.
        hashed = _tuple_getter(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
        methods["__hash__"] = _hash(hashed) if frozen else None
    if frozen:
        names = frozenset(f.name for f in fields)
        methods["__setattr__"] = _frozen_setattr(cls, names)
        methods["__delattr__"] = _frozen_delattr(cls, names)
        if slots:  # pickle and copy set the state through setattr: not on a frozen instance
            if "__getstate__" not in own:
                methods["__getstate__"] = _getstate
            if "__setstate__" not in own:
                methods["__setstate__"] = _setstate
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls


def _init(cls: type, fields: tuple[dataclasses.Field, ...], frozen: bool) -> Callable:
    """The one compiled method: ``__init__(self, a, b=..., *, c=...)`` setting each field."""
    scope: dict[str, Any] = {"_set": _object_setattr, "_FACTORY": _HAS_FACTORY}
    positional, keyword, body = [], [], []
    seen_default = False
    for f in fields:
        if f.default is not MISSING:
            scope[f"_d_{f.name}"] = f.default
            param = f"{f.name}=_d_{f.name}"
        elif f.default_factory is not MISSING:
            scope[f"_f_{f.name}"] = f.default_factory
            param = f"{f.name}=_FACTORY"
        else:
            param = f.name
        if f.kw_only:
            keyword.append(param)
        else:
            if param == f.name and seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            seen_default = seen_default or param != f.name
            positional.append(param)
        value = (f"_f_{f.name}() if {f.name} is _FACTORY else {f.name}"
                 if f.default_factory is not MISSING else f.name)
        body.append(f"    _set(self, {f.name!r}, {value})" if frozen else f"    self.{f.name} = {value}")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, scope)  # noqa: S102 - our own field names, checked identifiers by the class statement
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _HasFactory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasFactory()


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Any], tuple]:
    """``obj -> (obj.a, obj.b, ...)``, always a tuple (as the generated methods compare)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        return (f"{self.__class__.__qualname__}("
                + ", ".join(f"{name}={getattr(self, name)!r}" for name in names) + ")")

    return __repr__


def _eq(values: Callable[[Any], tuple]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(values: Callable[[Any], tuple]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _frozen_setattr(cls: type, names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    owner: Any = cls
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: type, names: frozenset[str]) -> Callable[[Any, str], None]:
    owner: Any = cls
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    return __delattr__


def _getstate(self: Any) -> list:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list) -> None:
    for f, value in zip(dataclasses.fields(self), state):
        _object_setattr(self, f.name, value)
