"""The activity/reach vocabulary lint reads (kpirules/data/vocabulary.toml), extendable by
a team's own file in the same format.

It is data, not code, because what counts as applause differs by team and language: a team
adds its tool's names (``fb_reactions``) or takes one out (``ignore = ["visits"]``) without
touching kpirules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kpirules.errors import Problem, SourceError, did_you_mean
from kpirules.names import normalise

VOCABULARY = "vocabulary"  # Problem category for mistakes in a vocabulary file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Metric(_Strict):
    what: str | None = None
    outcome: str = Field(min_length=1)
    target: str = "1%"
    aliases: list[str] = Field(default_factory=list)


class _Outcomes(_Strict):
    names: list[str] = Field(default_factory=list)


class _File(_Strict):
    ignore: list[str] = Field(default_factory=list)
    outcomes: _Outcomes = Field(default_factory=_Outcomes)
    activity: dict[str, _Metric] = Field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    name: str  # the canonical name, e.g. "emails_sent"
    what: str
    outcome: str
    target: str


@dataclass
class Vocabulary:
    metrics: dict[str, Metric] = field(default_factory=dict)  # every name and alias -> metric
    outcomes: list[str] = field(default_factory=list)

    def lookup(self, column: str) -> Metric | None:
        """The activity metric a column is, by its whole name or one of its words
        (``video_views`` is views); None for outcomes and everything else."""
        name = normalise(column)
        if name in self.outcomes:
            return None
        if name in self.metrics:
            return self.metrics[name]
        words = name.split("_")
        if any(w in self.outcomes for w in words):
            return None  # `leads_from_emails` is an outcome whatever else it names
        return next((self.metrics[w] for w in words if w in self.metrics), None)

    def is_outcome(self, column: str) -> bool:
        return normalise(column) in self.outcomes

    def merge(self, data: _File) -> None:
        for name, spec in data.activity.items():
            metric = Metric(normalise(name), spec.what or name.replace("_", " "),
                            normalise(spec.outcome), spec.target)
            for alias in [name, *spec.aliases]:
                self.metrics[normalise(alias)] = metric
        for name in data.outcomes.names:
            if normalise(name) not in self.outcomes:
                self.outcomes.append(normalise(name))
        for name in data.ignore:
            name = normalise(name)
            self.metrics = {k: m for k, m in self.metrics.items() if k != name and m.name != name}


def _parse(text: str, file: str) -> _File:
    import tomllib

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VocabularyError([Problem(VOCABULARY, f"not valid TOML: {exc}", file=file)]) from None
    try:
        return _File.model_validate(raw)
    except ValidationError as exc:
        problems = []
        lines = text.splitlines()
        for err in exc.errors(include_url=False):
            loc = [str(p) for p in err["loc"]]
            key = ".".join(loc)
            if err["type"] == "extra_forbidden":
                guess = did_you_mean(loc[-1], ["what", "outcome", "target", "aliases", "names",
                                               "ignore", "outcomes", "activity"])
                message, hint = f"unknown key `{key}`", f"did you mean `{guess}`?" if guess else None
            else:
                message, hint = f"`{key}`: {err['msg']}", None
            line = _line_of(lines, loc)
            problems.append(Problem(VOCABULARY, message, file=file, line=line, suggestion=hint,
                                    source_line=lines[line - 1] if line else None,
                                    column=1 if line else None))
        raise VocabularyError(problems) from None


def _line_of(lines: list[str], loc: list[str]) -> int | None:
    """Best effort: the line of the innermost key or table header that ``loc`` names
    (tomllib keeps no positions)."""
    table = None
    for i, line in enumerate(lines, start=1):
        s = line.strip()
        if s.startswith("[") and len(loc) >= 2 and s.strip("[]").strip() == ".".join(loc[:2]):
            table = i
        elif table and s.split("=")[0].strip() == loc[-1]:
            return i
    return table


class VocabularyError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


def load_vocabulary(extra: Iterable[str] = (), *, builtin: bool = True) -> Vocabulary:
    """The built-in vocabulary with every file of ``extra`` merged over it, in order."""
    vocabulary = Vocabulary()
    if builtin:
        from importlib.resources import files

        text = files("kpirules").joinpath("data/vocabulary.toml").read_text(encoding="utf-8")
        vocabulary.merge(_parse(text, "kpirules/data/vocabulary.toml"))
    for path in extra:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise SourceError(f"cannot read vocabulary file {path}: {exc.strerror}") from None
        vocabulary.merge(_parse(text, path))
    return vocabulary
