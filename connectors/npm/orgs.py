"""Org and team membership: the identity as a member of npm orgs and teams — `npm access`
level reach. A worm that republished hundreds of packages published them through the org's
publish rights; removing the account from the org (and its teams) takes them all at once.

Routes, as npm's own clients send them:
- org members: `GET /-/org/<org>/user` → {user: role}; `DELETE /-/org/<org>/user` with
  `{"user": …}` (npm/cli workspaces/libnpmorg lib/index.js `ls`, `rm`);
- team members: `GET /-/team/<org>/<team>/user` → [user, …]; `DELETE
  /-/team/<org>/<team>/user` with `{"user": …}` (libnpmteam lib/index.js `lsUsers`, `rm`).

Removal is destructive (the account loses every package the org owns, and org owners must
add it back by hand), so it is approval-gated: done only when the playbook's
`remove_org_membership` is on and the call carries a recorded approval (`approved`);
otherwise it is a MANUAL step naming the `npm org rm` / `npm team rm` command. On registries
without the org API (404/405/501; verdaccio) and when the registry refuses the responder
(401/403: only an org owner removes org members, an owner or admin team members:
https://docs.npmjs.com/organization-roles-and-permissions) it is MANUAL too. Read back by
listing the members again: absent is DONE, present FAILED, unlistable INDETERMINATE.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.base import ActionResult, Credential, Outcome

from .config import NPM_WEB, REFUSED, UNSERVED, NpmConfig, NpmOptions
from .registry import NpmRegistry, OtpRequired

KIND = "org_membership"


def members_path(org: str, team: str | None = None) -> str:
    """libnpmorg / libnpmteam: `eu(org)` (and `eu(team)`), the `@` of a scope dropped."""
    org = quote(org.lstrip("@"), safe="")
    return f"/-/team/{org}/{quote(team, safe='')}/user" if team else f"/-/org/{org}/user"


def _split(entry: str) -> tuple[str, str | None]:
    """"acme" → (acme, None); "acme:developers" → (acme, developers), as npm's `org:team`."""
    org, _, team = entry.lstrip("@").partition(":")
    return org, team or None


def _verified(credential: Credential, outcome: Outcome, detail: str) -> ActionResult:
    return ActionResult(subject=credential.subject, action="verify", outcome=outcome,
                        detail=detail)


class OrgMemberships:
    """Given the registry, the inventory section (`orgs`, `teams`) and the options."""

    def __init__(self, registry: NpmRegistry, config: NpmConfig, options: NpmOptions) -> None:
        self.registry = registry
        self.config = config
        self.options = options

    # --- reads ---------------------------------------------------------------------------

    def members(self, org: str, team: str | None = None) -> tuple[dict[str, str] | None, str]:
        """({member: role}, "") or (None, why it could not be listed). A team lists names
        only: their role reads "member". 429/5xx raise (transient)."""
        path = members_path(org, team)
        response = self.registry.call("GET", path, ok=(200, *UNSERVED, *REFUSED),
                                      headers=self.registry.headers())
        if response.status_code != 200:
            return None, f"GET {path}: HTTP {response.status_code}"
        body: Any = response.json()
        if isinstance(body, list):
            return {str(name): "member" for name in body}, ""
        if isinstance(body, dict):
            return {str(name): str(role) for name, role in body.items()}, ""
        return None, f"GET {path}: unreadable answer"

    def discover(self) -> list[Credential]:
        """One credential per configured org and team the account belongs to, and one of
        unknown status where the registry cannot list the members (its removal is MANUAL)."""
        found = []
        for entry in (*self.config.orgs, *self.config.teams):
            org, team = _split(entry)
            members, gap = self.members(org, team)
            if members is not None and self.config.user not in members:
                continue  # not a member: nothing to remove
            found.append(Credential(
                provider="npm", kind=KIND, id=f"{org}:{team}" if team else org,
                principal=self.config.user,
                status="active" if members is not None else "unknown",
                scopes=((members or {}).get(self.config.user, "unknown"),),
                # the engine's cue: revoke only with a recorded approval (`approved`)
                details={"org": org, "team": team, "read_gap": gap or None,
                         "destructive": True}))
        return found

    def snapshot(self) -> dict[str, Any]:
        """Each configured org's and team's members, before anyone is removed."""
        shown: dict[str, Any] = {}
        for entry in (*self.config.orgs, *self.config.teams):
            members, gap = self.members(*_split(entry))
            shown[entry] = members if members is not None else {"read_gap": gap}
        return shown

    # --- revoke and verify --------------------------------------------------------------

    def _commands(self, credential: Credential) -> str:
        org, team = credential.details["org"], credential.details.get("team")
        user = self.config.user
        command = (f"npm team rm '{org}:{team}' {user} --otp=<code>" if team else
                   f"npm org rm {org} {user} --otp=<code>")
        who = "An owner or admin" if team else "An owner"
        return (f"{who} of the npm org {org} runs `{command}` (or removes "
                f"{user} at {NPM_WEB}/settings/{org}/members). Re-run this case to verify.")

    def _manual(self, credential: Credential, why: str) -> ActionResult:
        return ActionResult(subject=credential.subject, action="revoke",
                            outcome=Outcome.MANUAL, detail=why,
                            instructions=self._commands(credential))

    def revoke(self, credential: Credential, *, approved: bool = False) -> ActionResult:
        org, team = credential.details["org"], credential.details.get("team")
        members, gap = self.members(org, team)
        if members is None:
            return self._manual(credential, f"the members cannot be listed ({gap}): this "
                                            "registry has no org API, or refuses the responder")
        if self.config.user not in members:
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.DONE, detail="already not a member")
        if not (self.options.remove_org_membership and approved):
            return self._manual(credential, (
                "destructive: removing the account from the org needs the playbook's "
                "remove_org_membership and a recorded approval" +
                ("" if self.options.remove_org_membership else " (the option is off)")))
        path = members_path(org, team)
        try:
            response = self.registry.call("DELETE", path, ok=(200, 204, *UNSERVED, *REFUSED),
                                          json={"user": self.config.user},
                                          headers=self.registry.headers())
        except OtpRequired as error:
            return self._manual(credential, str(error))
        if response.status_code in REFUSED:
            return self._manual(credential, f"the registry refused the removal (HTTP "
                                            f"{response.status_code}): an org owner removes "
                                            "org members, an owner or admin team members")
        if response.status_code in UNSERVED:
            return self._manual(credential, "this registry has no org API (HTTP "
                                            f"{response.status_code})")
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail=f"{self.config.user} removed from "
                                   f"{'team ' + org + ':' + team if team else 'org ' + org}",
                            requests=(f"DELETE {path}",))

    def verify(self, credential: Credential) -> ActionResult:
        org, team = credential.details["org"], credential.details.get("team")
        members, gap = self.members(org, team)
        if members is None:
            return _verified(credential, Outcome.INDETERMINATE,
                             f"cannot list the members ({gap}): confirm at "
                             f"{NPM_WEB}/settings/{org}/members")
        if self.config.user in members:
            return _verified(credential, Outcome.FAILED,
                             f"{self.config.user} is still a member "
                             f"({members[self.config.user]})")
        return _verified(credential, Outcome.DONE,
                         f"{self.config.user} not among the {len(members)} members listed")
