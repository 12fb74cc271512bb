"""``dataclass`` and ``field`` as the standard library's, made without its cost at import.

Python 3.11's ``dataclasses.dataclass`` writes ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` and a frozen class's ``__setattr__``/``__delattr__`` as source text and
compiles each one separately (about 0.3 ms a class), and ``import dataclasses`` loads
``inspect`` (with ``ast``, ``dis``, ``tokenize``): for the 40-odd classes that ``kpirules
check`` imports, a fifth of a short run (issue 14). Here only ``__init__`` is compiled (it
runs for every node and result, so it stays generated code); the other methods are shared
functions over a tuple of field names, and behave as the generated ones do: equality and
hashes on the same tuples of the fields that compare, the same repr, ``FrozenInstanceError``
on assignment, pickling and copying of frozen slotted classes.

The classes are dataclasses to the standard library: ``dataclasses.fields``, ``replace``,
``asdict`` and ``is_dataclass`` read ``__dataclass_fields__``, which is built (by
``dataclasses`` itself, from the same field specifications) the first time something asks
for it, so ``dataclasses`` is imported only by code that uses it (lint, explain); this
module's ``replace`` does the same as ``dataclasses.replace`` without it.

Supported: ``frozen``, ``slots``, ``kw_only``, and fields with ``default``,
``default_factory``, ``compare``, ``repr``, ``hash`` and ``kw_only``; anything else (order,
``__post_init__``, ``init=False`` fields) raises ``TypeError``: such a class uses
``dataclasses.dataclass`` itself. Type checkers read ``dataclass_transform``.
"""

from __future__ import annotations

import sys
from operator import attrgetter
from typing import Any, Callable, ClassVar, dataclass_transform

__all__ = ["dataclass", "field", "replace"]

_object_setattr = object.__setattr__


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _HasFactory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasFactory()


class Field:
    """One field's specification, as ``dataclasses.field`` takes it."""

    __slots__ = ("name", "type", "default", "default_factory", "repr", "hash", "compare", "kw_only")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
                 hash: bool | None = None, compare: bool = True, kw_only: Any = MISSING):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name, self.type = "", None
        self.default, self.default_factory = default, default_factory
        self.repr, self.hash, self.compare, self.kw_only = repr, hash, compare, kw_only


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
          hash: bool | None = None, compare: bool = True, kw_only: Any = MISSING) -> Any:
    """``dataclasses.field`` (without ``init`` and ``metadata``)."""
    return Field(default, default_factory, repr, hash, compare, kw_only)


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: type | None = None, /, *, frozen: bool = False, slots: bool = False,
              kw_only: bool = False) -> Any:
    """``@dataclass``, ``@dataclass(frozen=True, slots=True)``, as ``dataclasses.dataclass``."""

    def wrap(cls: type) -> type:
        return _process(cls, frozen=frozen, slots=slots, kw_only=kw_only)

    return wrap if cls is None else wrap(cls)


def replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace``: a copy of ``obj`` with ``changes`` (without importing
    ``dataclasses`` for a class made here)."""
    names = getattr(type(obj), "__fast_fields__", None)
    if names is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for name in names:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return type(obj)(**changes)


def _process(cls: type, *, frozen: bool, slots: bool, kw_only: bool) -> type:
    own = cls.__dict__
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: __post_init__ needs dataclasses.dataclass")
    fields: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        if "__dataclass_fields__" in base.__dict__ and "__fast_fields__" not in base.__dict__:
            raise TypeError(f"{cls.__name__}: a base made by dataclasses.dataclass needs it here too")
        fields.update(base.__dict__.get("__fast_fields__", {}))
    for name, annotation in own.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        spec = _spec(own.get(name, MISSING))
        spec.name, spec.type = name, annotation
        if spec.kw_only is MISSING:
            spec.kw_only = kw_only
        default = spec.default
        if default is not MISSING and type(default).__hash__ is None:
            raise ValueError(f"mutable default {type(default)} for field {name} is not allowed: "
                             "use default_factory")
        if _is_spec(own.get(name)):
            if default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, default)
        fields[name] = spec
    for name, value in own.items():
        if _is_spec(value) and name not in fields:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    cls.__fast_fields__ = fields  # type: ignore[attr-defined]
    if slots:
        cls = _with_slots(cls, tuple(fields))
        own = cls.__dict__
    if own.get("__doc__") is None:  # the standard one writes Name(signature) with inspect
        cls.__doc__ = f"{cls.__name__}({', '.join(fields)})"
    methods: dict[str, Any] = {"__dataclass_fields__": _StandardFields()}
    specs = tuple(fields.values())
    if "__init__" not in own:
        methods["__init__"] = _init(cls, specs, frozen)
    if "__repr__" not in own:
        methods["__repr__"] = _repr(tuple(f.name for f in specs if f.repr))
    has_eq = "__eq__" in own
    if not has_eq:
        methods["__eq__"] = _eq(_tuple_getter(tuple(f.name for f in specs if f.compare)))
    explicit_hash = own.get("__hash__", MISSING)
    if explicit_hash is MISSING or (explicit_hash is None and has_eq):
        # dataclasses' table for eq=True: frozen -> hash of the fields that take part
        # (hash=None follows compare), else unhashable.
        hashed = _tuple_getter(tuple(f.name for f in specs if (f.compare if f.hash is None else f.hash)))
        methods["__hash__"] = _hash(hashed) if frozen else None
    if "__match_args__" not in own:
        methods["__match_args__"] = tuple(f.name for f in specs if not f.kw_only)
    if frozen:
        names = frozenset(fields)
        methods["__setattr__"] = _frozen_setattr(cls, names)
        methods["__delattr__"] = _frozen_delattr(cls, names)
        if slots:  # pickle and copy set the state through setattr: not on a frozen instance
            state = tuple(fields)
            if "__getstate__" not in own:
                methods["__getstate__"] = _getstate(state)
            if "__setstate__" not in own:
                methods["__setstate__"] = _setstate(state)
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls


def _spec(value: Any) -> Field:
    """The field specification of a class attribute: ours, the standard library's, or a
    plain default."""
    if isinstance(value, Field):
        return value
    standard = sys.modules.get("dataclasses")
    if standard is not None and isinstance(value, standard.Field):
        if not value.init or value.metadata:
            raise TypeError(f"{value.name}: init=False and metadata need dataclasses.dataclass")
        convert = {standard.MISSING: MISSING}
        return Field(convert.get(value.default, value.default),
                     convert.get(value.default_factory, value.default_factory),
                     value.repr, value.hash, value.compare, convert.get(value.kw_only, value.kw_only))
    return Field(value)


def _is_spec(value: Any) -> bool:
    standard = sys.modules.get("dataclasses")
    return isinstance(value, Field) or (standard is not None and isinstance(value, standard.Field))


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        text = annotation.strip().removeprefix("typing.")
        return text == "ClassVar" or text.startswith("ClassVar[")
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _with_slots(cls: type, names: tuple[str, ...]) -> type:
    """The class made again with ``__slots__`` for its fields (as dataclasses does it)."""
    inherited: set[str] = set()
    for base in cls.__mro__[1:-1]:
        slots = base.__dict__.get("__slots__")
        inherited.update([slots] if isinstance(slots, str) else slots or ())
    body = dict(cls.__dict__)
    body["__slots__"] = tuple(n for n in names if n not in inherited)
    for name in names:
        body.pop(name, None)  # a default lives in __init__; a class attribute would clash
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


def _init(cls: type, fields: tuple[Field, ...], frozen: bool) -> Callable:
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
    exec(source, scope)  # noqa: S102 - field names: identifiers, checked by the class statement
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _StandardFields:
    """``__dataclass_fields__``, made by ``dataclasses`` from the same specifications the
    first time it is read (``dataclasses.fields``, ``replace``, ``asdict``)."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] | None = None

    def __get__(self, instance: Any, owner: type) -> dict[str, Any]:
        if self.fields is None:
            import dataclasses

            specs: dict[str, Field] = owner.__fast_fields__  # type: ignore[attr-defined]
            missing = {MISSING: dataclasses.MISSING}
            body: dict[str, Any] = {"__module__": owner.__module__,
                                    "__annotations__": {n: f.type for n, f in specs.items()}}
            for name, f in specs.items():
                body[name] = dataclasses.field(
                    default=missing.get(f.default, f.default),
                    default_factory=missing.get(f.default_factory, f.default_factory),
                    repr=f.repr, hash=f.hash, compare=f.compare, kw_only=f.kw_only)
            shadow: Any = dataclasses.dataclass(type(owner.__name__, (), body), init=False, repr=False, eq=False)
            self.fields = dict(shadow.__dataclass_fields__)
        return self.fields


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


def _frozen_error(message: str) -> Exception:
    import dataclasses  # its FrozenInstanceError, which callers catch: only when raised

    return dataclasses.FrozenInstanceError(message)


def _frozen_setattr(cls: type, names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    owner: Any = cls

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in names:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: type, names: frozenset[str]) -> Callable[[Any, str], None]:
    owner: Any = cls

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in names:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    return __delattr__


def _getstate(names: tuple[str, ...]) -> Callable[[Any], list]:
    def __getstate__(self: Any) -> list:
        return [getattr(self, name) for name in names]

    return __getstate__


def _setstate(names: tuple[str, ...]) -> Callable[[Any, list], None]:
    def __setstate__(self: Any, state: list) -> None:
        for name, value in zip(names, state):
            _object_setattr(self, name, value)

    return __setstate__
