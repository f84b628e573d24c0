"""Compare a recorded Salesforce JSON answer with sfemu's, learning id correspondences on the way.

Rules (salesforce-api.md §2-§4, recorded README):
* dicts: same key set (``allow`` may excuse named keys at a path), and the same relative key order
  unless the recording's order is no evidence (``check_order=False``); records put ``attributes``
  first;
* lists: same length, compared item by item (``sample_lists`` compares the first item only);
* strings holding record ids (alone, in URLs, in messages): the ids in sfemu's answer must be valid
  18-char ids with the same key prefix (custom objects excepted); a recorded id seen before must map
  to the same sfemu id; ids are learned in document order;
* datetimes: recorded ``…T…+0000`` values only need sfemu's value in the same format;
* in ``shape`` mode other scalars only need the same JSON type (``null`` matches anything);
  otherwise they must be equal, after the host/org/version rewrites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.sfemu.replay.checks import SF_DATETIME, checksum

ID_TOKEN = re.compile(r"(?<![A-Za-z0-9])([a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?)(?![A-Za-z0-9])")


def _is_id(token: str) -> bool:
    if len(token) == 18:
        return checksum(token[:15]) == token[15:] or "0x" in token
    return (
        len(token) == 15 and bool(re.search(r"[0-9]", token[3:])) and bool(re.search(r"[A-Za-z]", token[3:]))
    )


class IdMap:
    """recorded id → sfemu id, by 15-char key (so 15- and 18-char forms agree)."""

    def __init__(self) -> None:
        self._map: dict[str, str] = {}

    def add(self, recorded: str, actual: str) -> None:
        self._map[recorded[:15]] = actual

    def get(self, recorded: str) -> str | None:
        actual = self._map.get(recorded[:15])
        if actual is None:
            return None
        return actual if len(recorded) == 18 else actual[:15]

    def rewrite(self, text: str) -> str:
        def sub(m: re.Match) -> str:
            token = m.group(1)
            mapped = self.get(token) if _is_id(token) else None
            return mapped or token

        return ID_TOKEN.sub(sub, text)

    def rewrite_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.rewrite(value)
        if isinstance(value, list):
            return [self.rewrite_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.rewrite_json(v) for k, v in value.items()}
        return value


@dataclass
class Comparer:
    ids: IdMap
    text_rewrites: list[tuple[str, str]] = field(default_factory=list)  # literal (recorded, sfemu)
    check_order: bool = True
    shape: bool = False
    sample_lists: bool = False
    allow_missing: dict[str, set[str]] = field(default_factory=dict)  # path → keys sfemu may lack
    allow_extra: dict[str, set[str]] = field(default_factory=dict)  # path → keys sfemu may add
    loose_values: set[str] = field(default_factory=set)  # keys whose values are compared by type only
    trimmed_lists: bool = False  # the recording emptied lists (CumulusCI trims): [] matches any list
    problems: list[str] = field(default_factory=list)

    def compare(self, expected: Any, actual: Any, path: str = "$") -> list[str]:
        self._cmp(expected, actual, path, shape=self.shape)
        return self.problems

    def _fail(self, path: str, message: str) -> None:
        if len(self.problems) < 40:
            self.problems.append(f"{path}: {message}")

    def _cmp(self, exp: Any, act: Any, path: str, *, shape: bool) -> None:
        if isinstance(exp, dict):
            self._cmp_dict(exp, act, path, shape=shape)
        elif isinstance(exp, list):
            if not isinstance(act, list):
                self._fail(path, f"expected a list, got {type(act).__name__}: {str(act)[:120]}")
                return
            if self.trimmed_lists and not exp:
                return
            if self.sample_lists:
                if exp and act:
                    self._cmp(exp[0], act[0], f"{path}[]", shape=shape)
                elif bool(exp) != bool(act):
                    self._fail(path, f"expected {len(exp)} items, got {len(act)}")
                return
            if len(exp) != len(act):
                self._fail(path, f"expected {len(exp)} items, got {len(act)}")
            for e, a in zip(exp, act, strict=False):
                self._cmp(e, a, f"{path}[]", shape=shape)
        else:
            self._cmp_scalar(exp, act, path, shape=shape)

    def _cmp_dict(self, exp: dict, act: Any, path: str, *, shape: bool) -> None:
        if not isinstance(act, dict):
            self._fail(path, f"expected an object, got {type(act).__name__}: {str(act)[:120]}")
            return
        missing = set(exp) - set(act) - self.allow_missing.get(path, set())
        extra = set(act) - set(exp) - self.allow_extra.get(path, set())
        if missing:
            self._fail(path, f"sfemu lacks keys {sorted(missing)}")
        if extra:
            self._fail(path, f"sfemu adds keys {sorted(extra)}")
        if "attributes" in exp and next(iter(act), None) != "attributes":
            self._fail(path, f"record does not start with attributes: {list(act)[:3]}")
        if self.check_order:
            e_order = [k for k in exp if k in act]
            a_order = [k for k in act if k in exp]
            if e_order != a_order:
                self._fail(path, f"key order differs: recorded {e_order[:12]}… sfemu {a_order[:12]}…")
        for key in exp:
            if key in act:
                loose = shape or key in self.loose_values
                self._cmp(exp[key], act[key], f"{path}.{key}", shape=loose)

    def _cmp_scalar(self, exp: Any, act: Any, path: str, *, shape: bool) -> None:
        if isinstance(exp, str) and isinstance(act, str):
            if SF_DATETIME.match(exp):
                if not SF_DATETIME.match(act):
                    self._fail(path, f"datetime {act!r} is not in the {exp!r} format")
                return
            if self._cmp_ids(exp, act, path):
                return
            if shape:
                return
            rewritten = self._rewrite(exp)
            if rewritten != act:
                self._fail(path, f"expected {rewritten!r}, got {act!r}")
            return
        if shape:
            if exp is None or act is None:
                return
            if type(exp) is not type(act) and not (
                isinstance(exp, (int, float)) and isinstance(act, (int, float))
            ):
                self._fail(path, f"expected a {type(exp).__name__}, got {act!r}")
            return
        if isinstance(exp, bool) or isinstance(act, bool) or exp is None or act is None:
            if exp is not act:
                self._fail(path, f"expected {exp!r}, got {act!r}")
            return
        if exp != act:
            self._fail(path, f"expected {exp!r}, got {act!r}")

    def _rewrite(self, text: str) -> str:
        for old, new in self.text_rewrites:
            text = text.replace(old, new)
        return self.ids.rewrite(text)

    def _cmp_ids(self, exp: str, act: str, path: str) -> bool:
        """Strings holding ids: match the recorded template against sfemu's text, learning ids."""
        tokens = [m for m in ID_TOKEN.finditer(exp) if _is_id(m.group(1))]
        if not tokens:
            return False
        pattern, last, groups = "", 0, []
        for m in tokens:
            pattern += re.escape(self._rewrite_plain(exp[last : m.start(1)]))
            token = m.group(1)
            pattern += f"([a-zA-Z0-9]{{{len(token)}}})"
            groups.append(token)
            last = m.end(1)
        pattern += re.escape(self._rewrite_plain(exp[last:]))
        found = re.fullmatch(pattern, act)
        if not found:
            self._fail(path, f"expected something like {self._rewrite(exp)!r}, got {act!r}")
            return True
        for token, got in zip(groups, found.groups(), strict=True):
            known = self.ids.get(token)
            if known is not None:
                if known.lower() != got.lower():
                    self._fail(path, f"recorded id {token} is {known} in sfemu, answer says {got}")
                continue
            if len(got) == 18 and checksum(got[:15]) != got[15:]:
                self._fail(path, f"id {got} has a bad checksum")
            if not token.startswith("a") and "0x" not in token and got[:3] != token[:3]:
                self._fail(path, f"id {got} should have key prefix {token[:3]}")
            self.ids.add(token, got)
        return True

    def _rewrite_plain(self, text: str) -> str:
        for old, new in self.text_rewrites:
            text = text.replace(old, new)
        return text
