"""Field masks: the ``fields`` query parameter (partial responses) and the ``fields`` of
batchUpdate requests (which parts of an object to overwrite).

Syntax as Google accepts it: ``a,b/c,d(e,f(g))``, ``*``, and ``.`` as a path separator
too (gspread sends ``sheets.data.rowData.values.note``). A parsed mask is a tree:
``{name: True | subtree}``.
"""

from __future__ import annotations

import copy
from typing import Any

Mask = dict[str, Any]


class MaskError(ValueError):
    pass


def parse(text: str) -> Mask:
    tree, pos = _parse_list(text.replace(" ", ""), 0)
    if pos != len(text.replace(" ", "")):
        raise MaskError(text)
    return tree


def _parse_list(text: str, pos: int) -> tuple[Mask, int]:
    tree: Mask = {}
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        path = [p for p in text[start:pos].replace(".", "/").split("/")]
        if not path or any(p == "" for p in path):
            raise MaskError(text)
        sub: Any = True
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise MaskError(text)
            pos += 1
        for name in reversed(path[1:]):
            sub = {name: sub}
        _merge_into(tree, path[0], sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return tree, pos


def _merge_into(tree: Mask, name: str, sub: Any) -> None:
    if sub is True or tree.get(name) is True:
        tree[name] = True
    elif name in tree:
        for k, v in sub.items():
            _merge_into(tree[name], k, v)
    else:
        tree[name] = sub


def paths(tree: Mask, prefix: str = "") -> list[str]:
    out = []
    for name, sub in tree.items():
        path = f"{prefix}{name}"
        out.extend([path] if sub is True else paths(sub, path + "."))
    return out


def filter_response(obj: Any, tree: Mask | None) -> Any:
    """Keep only the masked fields (partial response). Messages that exist stay even if
    nothing under them matched (Google answers ``{"sheets": [{"properties": {}}]}``)."""
    if tree is None or obj is None:
        return obj
    if isinstance(obj, list):
        return [filter_response(x, tree) for x in obj]
    if not isinstance(obj, dict):
        return obj
    if "*" in tree:
        return obj
    out = {}
    for name, sub in tree.items():
        if name in obj:
            out[name] = obj[name] if sub is True else filter_response(obj[name], sub)
    return out


def apply_update(target: dict, source: dict, tree: Mask) -> dict:
    """Overwrite the masked fields of ``target`` with ``source``'s; a masked field that
    ``source`` lacks is cleared (how ``fields`` works in batchUpdate). Returns target."""
    if "*" in tree:
        target.clear()
        target.update(copy.deepcopy(source))
        return target
    for name, sub in tree.items():
        if sub is True:
            if source.get(name) is not None:
                target[name] = copy.deepcopy(source[name])
            else:
                target.pop(name, None)
        else:
            inner_src = source.get(name) or {}
            inner = target.get(name)
            if not isinstance(inner, dict):
                inner = {}
            apply_update(inner, inner_src if isinstance(inner_src, dict) else {}, sub)
            if inner:
                target[name] = inner
            else:
                target.pop(name, None)
    return target


def unknown_paths(tree: Mask, schema: str, schemas: dict | None) -> list[str]:
    """Mask paths that name no field of ``schema`` (discovery schemas); [] when the
    discovery document is not available."""
    if not schemas:
        return []
    bad: list[str] = []

    def walk(node: Mask, sch: dict, prefix: str) -> None:
        props = sch.get("properties", {})
        for name, sub in node.items():
            if name == "*":
                continue
            prop = props.get(name)
            if prop is None:
                bad.append(prefix + name)
                continue
            if sub is True:
                continue
            while prop.get("type") == "array":
                prop = prop.get("items", {})
            if "$ref" in prop:
                walk(sub, schemas.get(prop["$ref"], {}), prefix + name + ".")
            elif prop.get("type") == "object" and "additionalProperties" not in prop:
                continue
            else:
                bad.append(prefix + name + "." + next(iter(sub)))

    walk(tree, schemas.get(schema, {}), "")
    return bad
