"""What running checks produced: one `Attempt` per run of a case, grouped into `CaseResult`s.

Plain dataclasses, so the CLI table, JUnit XML, the Run tab, history and MLflow all read the same
thing. A case passes when at least `needed_passes` of its `repeat` attempts pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.checks.grade import Finding
from schemas.checks import Check


@dataclass
class Attempt:
    """One run of one case, graded."""

    case: str
    attempt: int  # 1-based
    run_id: str
    status: str = ""  # the run's end: finished | failed | cancelled | interrupted
    findings: list[Finding] = field(default_factory=list)
    error: str = ""  # why the run itself did not finish
    cost_usd: float = 0.0  # the run's, judges apart
    tokens: int = 0
    latency_s: float = 0.0
    judge_cost_usd: float = 0.0
    judge_tokens: int = 0
    judge_verdict: bool | None = None  # all judges of the case said yes (None: the case has no judge)
    judge_reason: str = ""
    judge_model: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and all(f.passed for f in self.findings)

    @property
    def reasons(self) -> list[str]:
        """Why it failed, one line per problem (empty when it passed)."""
        out = [f"run {self.status or 'failed'}: {self.error}"] if self.error else []
        return out + [f"{f.what}: {f.reason}" for f in self.findings if not f.passed]


@dataclass
class CaseResult:
    check: Check
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def passes(self) -> int:
        return sum(a.passed for a in self.attempts)

    @property
    def passed(self) -> bool:
        return len(self.attempts) == self.check.repeat and self.passes >= self.check.needed_passes

    @property
    def reason(self) -> str:
        """The first failure's reasons (with how many attempts failed when repeated)."""
        failed = [a for a in self.attempts if not a.passed]
        if self.passed or not failed:
            return ""
        head = "; ".join(failed[0].reasons)
        if self.check.repeat > 1:
            head = (f"{self.passes}/{len(self.attempts)} passed, {self.check.needed_passes} needed — "
                    f"attempt {failed[0].attempt}: {head}")
        return head

    def total(self, name: str) -> float:
        return sum(getattr(a, name) for a in self.attempts)

    @property
    def max_latency_s(self) -> float:
        return max((a.latency_s for a in self.attempts), default=0.0)


@dataclass
class CheckReport:
    """Every case of one `graphwright test` (or "Run checks")."""

    check_run_id: str
    workflow: str
    model: str  # the model the steps ran on: the override, or the workflow's default
    config_hash: str = ""
    cases: list[CaseResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]

    @property
    def attempts(self) -> list[Attempt]:
        return [a for c in self.cases for a in c.attempts]
