"""Request validation against the official discovery document (sheets.v4.json).

Bodies and query parameters are checked the way Google's front end parses them into
protos, with its error texts: unknown fields (``Invalid JSON payload received. Unknown
name "foo" at 'requests[0]': Cannot find field.``), values of the wrong type or enum
(``Invalid value at 'requests[0].insert_dimension.range.dimension'
(type.googleapis.com/google.apps.sheets.v4.Dimension), "SIDEWAYS"``). Paths use the
proto (snake_case) field names, as Google's messages do.

The document comes from google-api-python-client when installed (its discovery cache),
else from the stripped copy shipped next to this module; without either, nothing is
validated.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any

from kpirules_emulator.sheets_errors import bad_request

_VENDORED = os.path.join(os.path.dirname(__file__), "sheets_v4_discovery.json")
PROTO_PACKAGE = "type.googleapis.com/google.apps.sheets.v4."

GLOBAL_PARAMS = {"$.xgafv", "access_token", "alt", "callback", "fields", "key",
                 "oauth_token", "prettyPrint", "quotaUser", "upload_protocol", "uploadType"}

# Enum type names for the query parameters (the discovery document only lists values).
_ENUM_NAMES = {"valueRenderOption": "ValueRenderOption",
               "responseValueRenderOption": "ValueRenderOption",
               "dateTimeRenderOption": "DateTimeRenderOption",
               "responseDateTimeRenderOption": "DateTimeRenderOption",
               "valueInputOption": "ValueInputOption", "insertDataOption": "InsertDataOption",
               "majorDimension": "Dimension", "dimension": "Dimension"}

_SCALAR_TYPES = {("integer", "int32"): "TYPE_INT32", ("integer", "uint32"): "TYPE_UINT32",
                 ("string", "int64"): "TYPE_INT64", ("string", "uint64"): "TYPE_UINT64",
                 ("number", "double"): "TYPE_DOUBLE", ("number", "float"): "TYPE_FLOAT",
                 ("boolean", None): "TYPE_BOOL", ("string", None): "TYPE_STRING"}


def discovery_source() -> str | None:
    try:
        import googleapiclient
        path = os.path.join(os.path.dirname(googleapiclient.__file__),
                            "discovery_cache", "documents", "sheets.v4.json")
        if os.path.exists(path):
            return path
    except ImportError:
        pass
    return _VENDORED if os.path.exists(_VENDORED) else None


@lru_cache(maxsize=1)
def discovery() -> dict | None:
    path = discovery_source()
    if path is None:
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def schemas() -> dict | None:
    doc = discovery()
    return doc["schemas"] if doc else None


@lru_cache(maxsize=1)
def methods() -> dict[str, dict]:
    """'spreadsheets.values.get' -> the discovery method entry."""
    doc = discovery()
    out: dict[str, dict] = {}

    def walk(resources: dict, prefix: str) -> None:
        for name, res in resources.items():
            for mname, m in res.get("methods", {}).items():
                out[f"{prefix}{name}.{mname}"] = m
            walk(res.get("resources", {}), f"{prefix}{name}.")

    if doc:
        walk(doc["resources"], "")
    return out


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Collector:
    def __init__(self):
        self.errors: list[tuple[str, str]] = []

    def unknown(self, name: str, path: str) -> None:
        where = f" at '{path}'" if path else ""
        self.errors.append((path, f'Invalid JSON payload received. Unknown name "{name}"'
                                  f"{where}: Cannot find field."))

    def invalid(self, path: str, type_name: str, value: Any) -> None:
        self.errors.append((path, f"Invalid value at '{path}' ({type_name}), {_show(value)}"))


def _type_name(prop: dict, name: str) -> str:
    if "$ref" in prop:
        return PROTO_PACKAGE + prop["$ref"]
    if "enum" in prop:
        return PROTO_PACKAGE + _ENUM_NAMES.get(name, name[:1].upper() + name[1:])
    if prop.get("type") == "any":
        return "type.googleapis.com/google.protobuf.Value"
    if prop.get("type") == "array":
        return "type.googleapis.com/google.protobuf.ListValue"
    return _SCALAR_TYPES.get((prop.get("type"), prop.get("format")),
                             _SCALAR_TYPES.get((prop.get("type"), None), "TYPE_STRING"))


def _scalar_ok(prop: dict, value: Any) -> bool:
    kind, fmt = prop.get("type"), prop.get("format")
    if "enum" in prop:
        if isinstance(value, str):
            return value in prop["enum"]
        return isinstance(value, int) and not isinstance(value, bool) and \
            0 <= value < len(prop["enum"])
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer" or (kind == "string" and fmt in ("int64", "uint64")):
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            return value.is_integer()
        if isinstance(value, str):
            return bool(re.fullmatch(r"-?\d+", value.strip()))
        return isinstance(value, int)
    if kind == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, str):
            try:
                float(value)
                return True
            except ValueError:
                return False
        return isinstance(value, (int, float))
    if kind == "string":
        return isinstance(value, str)
    return True


def _check(value: Any, prop: dict, name: str, path: str, col: _Collector,
           all_schemas: dict) -> None:
    if value is None:
        return  # JSON null leaves a proto field unset
    if prop.get("type") == "array":
        items = prop.get("items", {})
        if not isinstance(value, list):
            col.invalid(path, _type_name(prop if items.get("type") in ("array", "any")
                                         else items, name), value)
            return
        for i, item in enumerate(value):
            if items.get("type") == "array" and not isinstance(item, list):
                col.invalid(f"{path}[{i}]", "type.googleapis.com/google.protobuf.ListValue",
                            item)
                continue
            _check(item, items, name, f"{path}[{i}]", col, all_schemas)
        return
    if "$ref" in prop:
        if not isinstance(value, dict):
            col.invalid(path, _type_name(prop, name), value)
            return
        _object(value, all_schemas.get(prop["$ref"], {}), path, col, all_schemas)
        return
    if prop.get("type") == "object":
        if not isinstance(value, dict):
            col.invalid(path, "type.googleapis.com/google.protobuf.Struct", value)
            return
        extra = prop.get("additionalProperties")
        if extra:
            for k, v in value.items():
                _check(v, extra, name, f"{path}[{k}]", col, all_schemas)
        return
    if prop.get("type") == "any":
        return
    if not _scalar_ok(prop, value):
        col.invalid(path, _type_name(prop, name), value)


def _object(value: dict, schema: dict, path: str, col: _Collector, all_schemas: dict):
    props = schema.get("properties", {})
    for key, item in value.items():
        name = key if key in props else _camel(key)
        prop = props.get(name)
        if prop is None:
            col.unknown(key, path)
            continue
        sub = f"{path}.{snake(name)}" if path else snake(name)
        _check(item, prop, name, sub, col, all_schemas)


def check_body(method_id: str, body: Any, body_field: str = "") -> None:
    """Raise a 400 ApiError if ``body`` does not fit the method's request schema.
    ``body_field`` is the request-message field the body binds to (``data`` for
    values.update, so paths read ``data.values``)."""
    method = methods().get(method_id)
    all_schemas = schemas()
    if not method or not all_schemas or "request" not in method:
        return
    col = _Collector()
    schema = all_schemas.get(method["request"]["$ref"], {})
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.",
                          [(body_field, "Invalid JSON payload received.")])
    _object(body, schema, body_field, col, all_schemas)
    _raise(col)


def check_query(method_id: str, query: dict[str, list[str]]) -> None:
    method = methods().get(method_id)
    doc = discovery()
    if method is None or doc is None:
        return
    params = method.get("parameters", {})
    col = _Collector()
    for key, values in query.items():
        prop = params.get(key) or params.get(_camel(key))
        if prop is None or prop.get("location") != "query":
            if key in GLOBAL_PARAMS or key in doc.get("parameters", {}):
                continue
            col.errors.append(("", f'Invalid JSON payload received. Unknown name "{key}": '
                                   f"Cannot bind query parameter. Field '{key}' could not "
                                   f"be found in request message."))
            continue
        name = key if key in params else _camel(key)
        for raw in values:
            value: Any = raw
            if prop.get("type") == "boolean":
                if raw.lower() not in ("true", "false", "1", "0"):
                    col.invalid(snake(name), "TYPE_BOOL", raw)
                continue
            if prop.get("type") == "integer":
                if not re.fullmatch(r"-?\d+", raw):
                    col.invalid(snake(name), _type_name(prop, name), raw)
                continue
            if not _scalar_ok(prop, value):
                col.invalid(snake(name), _type_name(prop, name), raw)
    _raise(col)


def _raise(col: _Collector) -> None:
    if col.errors:
        message = "\n".join(desc for _, desc in col.errors)
        raise bad_request(message, col.errors)


def as_bool(raw: str | None, default: bool = False) -> bool:
    if raw is None:
        return default
    return raw.strip().lower() in ("true", "1")


__all__ = ["check_body", "check_query", "discovery", "discovery_source", "methods",
           "schemas", "snake", "as_bool"]
