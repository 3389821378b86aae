"""One-shot REST fault injection: "the next N requests matching X fail with Y".

Rules match on the HTTP method and an ``fnmatch`` pattern over the path *below* the API base, e.g.
``("POST", "/webhooks/*")`` or ``("*", "/channels/*/messages")``.  Each matching request consumes one
use of the oldest applicable rule; used-up rules disappear, so a test states exactly how many
failures it wants and can assert that the bot recovered afterwards.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass
class FaultRule:
    method: str
    pattern: str
    status: int
    remaining: int
    retry_after: float = 0.0
    is_global: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.pattern)


class FaultPlan:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        if rule.remaining < 1:
            raise ValueError("a fault rule must apply to at least one request")
        self._rules.append(rule)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The fault to apply to this request, consuming one use of it."""
        for rule in self._rules:
            if rule.matches(method, path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule
        return None

    @property
    def pending(self) -> list[FaultRule]:
        """Rules not yet used up; a test can assert this is empty to prove the faults fired."""
        return list(self._rules)
