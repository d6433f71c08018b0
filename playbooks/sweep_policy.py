"""The sweep's policy (`playbooks/policies/sweep.yaml`, or `--policy FILE`): which rules flag a
credential, at what thresholds, how much risk each carries, and which are automatic actions
under `revoker sweep --revoke`.

Typed and strict (extra="forbid") like the playbooks: a typo or a negative threshold is one
`BadInput` naming the file and the field, before any provider is asked. The policy lives in
its own file because a playbook forbids unknown keys and every shipped `*.yaml` beside it
must load as a playbook.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .models import SHIPPED, Strict, _validate, load_yaml

DEFAULT_POLICY = SHIPPED / "policies" / "sweep.yaml"


class Rule(Strict):
    """One rule: on or off, the base risk (0-100) of what it flags, and whether `--revoke`
    revokes what it flags (an automatic action) or only reports it."""

    enabled: bool = True
    risk: int = Field(ge=0, le=100)
    revoke: bool = Field(False, strict=True)


class AgeRule(Rule):
    max_days: int = Field(90, ge=0, description="older than this many days is long-lived")


class UnusedRule(Rule):
    # never used counts from creation: a key nobody has used in this long is not needed
    days: int = Field(30, ge=0, description="unused (or never used) for this many days")


class BroadScopeRule(Rule):
    # AWS managed policies and GitHub/npm scopes that amount to "everything"
    admin: tuple[str, ...] = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess", "*",
                              "admin:org", "admin:enterprise", "delete_repo")
    write: tuple[str, ...] = ("repo", "write:packages", "workflow", "publish", "automation")


class OwnerLeftRule(Rule):
    # Who is still here (names or contacts). Empty: the rule cannot tell, and is off.
    people: tuple[str, ...] = ()


class ShortLivedRule(Rule):
    # credential kind → the short-lived alternative that makes it unnecessary
    alternatives: dict[str, str] = Field(default_factory=lambda: {
        "access_key": "an IAM role assumed through GitHub OIDC (AssumeRoleWithWebIdentity)",
        "classic_pat": "a GitHub App installation token (1 hour)",
        "fine_grained_pat_grant": "a GitHub App installation token (1 hour)",
        "npm_token": "npm trusted publishing (OIDC, no stored token)",
        "pypi_token": "PyPI trusted publishing (OIDC, no stored token)",
    })


class SweepPolicy(Strict):
    long_lived: AgeRule = AgeRule(risk=40)
    no_expiry: Rule = Rule(risk=25)
    unused: UnusedRule = UnusedRule(risk=50)
    missing_owner: Rule = Rule(risk=35)
    owner_left: OwnerLeftRule = OwnerLeftRule(risk=45)
    broad_scope: BroadScopeRule = BroadScopeRule(risk=60)
    reuse: Rule = Rule(risk=55)
    short_lived_alternative: ShortLivedRule = ShortLivedRule(risk=20)
    unknown_identity: Rule = Rule(risk=70)
    two_active_keys: Rule = Rule(risk=30)
    console_and_keys: Rule = Rule(risk=35)

    def rule(self, name: str) -> Rule:
        found = getattr(self, name)
        assert isinstance(found, Rule), name
        return found

    def automatic(self) -> set[str]:
        """The rules whose findings `--revoke` revokes."""
        return {name for name in type(self).model_fields
                if self.rule(name).enabled and self.rule(name).revoke}


def load_sweep_policy(path: Path | None = None) -> tuple[SweepPolicy, Path]:
    """The shipped policy, or the file given; bad input names the file and the field."""
    chosen = path or DEFAULT_POLICY
    return _validate(SweepPolicy, load_yaml(chosen), str(chosen)), chosen
