"""Path templates (``/repos/{owner}/{repo}/issues``) matched against concrete request paths.

Used by the OpenAPI validator (thousands of templates in a large spec) and by the gateway stub.
Values are returned still percent-encoded, exactly as sent; callers decode when they need to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")


def path_segments(path: str) -> list[str]:
    """The segments of a path, without query, fragment, leading or trailing slash."""
    bare = path.split("?", 1)[0].split("#", 1)[0].strip("/")
    return bare.split("/") if bare else []


@dataclass(frozen=True)
class PathTemplate:
    template: str
    names: tuple[str, ...]
    segment_count: int
    # Lower sorts first: literal segments beat mixed ones beat pure placeholders, so
    # ``/incidents/unresolved`` wins over ``/incidents/{incident_id}``.
    specificity: tuple[int, ...]
    _regex: re.Pattern[str]

    @classmethod
    def parse(cls, template: str) -> PathTemplate:
        names: list[str] = []
        patterns: list[str] = []
        specificity: list[int] = []
        for seg in path_segments(template):
            pieces = _PLACEHOLDER.split(seg)  # literal, name, literal, name, ..., literal
            regex = ""
            for i, piece in enumerate(pieces):
                if i % 2:
                    regex += f"(?P<p{len(names)}>[^/]+?)"
                    names.append(piece)
                else:
                    regex += re.escape(piece)
            patterns.append(regex)
            has_literal = any(pieces[i] for i in range(0, len(pieces), 2))
            has_param = len(pieces) > 1
            specificity.append(0 if not has_param else (1 if has_literal else 2))
        return cls(
            template=template,
            names=tuple(names),
            segment_count=len(patterns),
            specificity=tuple(specificity),
            _regex=re.compile("^" + "/".join(patterns) + "$"),
        )

    def match(self, path: str) -> dict[str, str] | None:
        """``{placeholder: raw value}`` when ``path`` fits the template, else None."""
        found = self._regex.match("/".join(path_segments(path)))
        if found is None:
            return None
        return {name: found.group(f"p{i}") for i, name in enumerate(self.names)}


class TemplateIndex:
    """Templates grouped by segment count, most specific first, so a lookup is one short scan."""

    def __init__(self, templates: Iterable[str] = ()) -> None:
        self._by_length: dict[int, list[PathTemplate]] = {}
        self._sorted = True
        self.templates: list[str] = []
        for template in templates:
            self.add(template)

    def add(self, template: str) -> None:
        parsed = PathTemplate.parse(template)
        self._by_length.setdefault(parsed.segment_count, []).append(parsed)
        self._sorted = False
        self.templates.append(template)

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        if not self._sorted:  # sorted once, after loading, not on every add
            for bucket in self._by_length.values():
                bucket.sort(key=lambda t: t.specificity)
            self._sorted = True
        for candidate in self._by_length.get(len(path_segments(path)), []):
            params = candidate.match(path)
            if params is not None:
                return candidate.template, params
        return None
