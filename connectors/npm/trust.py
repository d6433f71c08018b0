"""Trusted publishers: the CI workflows a package lets mint publish tokens by OIDC — a
credential of the identity as much as a token is.

`GET /-/package/<pkg>/trust` lists them as [{id, type: github|gitlab|circleci, claims:
{repository, workflow_ref: {file}, environment} | {project_path, ci_config_ref_uri: {file},
…}}], `DELETE /-/package/<pkg>/trust/<id>` removes one (shapes: npm/cli
lib/commands/trust/*.js and lib/trust-cmd.js as vendored in nodejs/node deps/npm). npmjs
requires an owner's session with 2FA for both. Where the registry does not serve the routes
(404/405/501) or refuses the responder (401/403), configurations seen in packuments
(`trustedPublisher`) are still reported, and removal becomes a MANUAL step naming
https://www.npmjs.com/package/<pkg>/access.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.base import ActionResult, Credential, Outcome

from .config import NPM_WEB, REFUSED, UNSERVED
from .registry import NpmRegistry, OtpRequired, package_path
from .signing import trusted_publisher


def trust_principal(config: dict[str, Any]) -> str:
    """"owner/repo:workflow.yml" for a trust configuration, whatever the CI provider."""
    claims = config.get("claims") or {}
    entity = claims.get("repository") or claims.get("project_path") or \
        claims.get("project") or "?"
    file = (claims.get("workflow_ref") or claims.get("ci_config_ref_uri") or {}).get("file")
    kind = config.get("type") or "ci"
    return f"{kind}:{entity}:{file}" if file else f"{kind}:{entity}"


def _verified(credential: Credential, outcome: Outcome, detail: str) -> ActionResult:
    return ActionResult(subject=credential.subject, action="verify", outcome=outcome,
                        detail=detail)


class TrustedPublishers:
    """List, remove and verify one package's configurations, given the registry."""

    def __init__(self, registry: NpmRegistry) -> None:
        self.registry = registry

    def listed(self, name: str) -> tuple[list[dict[str, Any]] | None, str | None]:
        """(configurations, None) where the registry lists them; (None, why) where not."""
        path = f"/-/package/{quote(name, safe='@')}/trust"
        response = self.registry.call("GET", path, ok=(200, *UNSERVED, *REFUSED),
                                      headers=self.registry.headers())
        if response.status_code != 200:
            return None, f"GET {path}: HTTP {response.status_code}"
        body = response.json()
        return (body if isinstance(body, list) else [body] if body else []), None

    def of_package(self, name: str) -> list[Credential]:
        configs, gap = self.listed(name)
        if configs is not None:
            return [Credential(
                provider="npm", kind="trusted_publisher", id=str(config.get("id")),
                principal=trust_principal(config), status="active",
                details={"package": name, "listed": True, "type": config.get("type"),
                         "claims": config.get("claims") or {}})
                for config in configs if config.get("id")]
        # Unlisted: the configurations this registry's packuments say published something.
        response = self.registry.call("GET", package_path(name), ok=(200, 404),
                                      headers=self.registry.headers())
        packument = response.json() if response.status_code == 200 else {}
        seen: dict[str, dict[str, Any]] = {}
        for manifest in (packument.get("versions") or {}).values():
            publisher = trusted_publisher(manifest)
            if publisher and publisher.get("oidcConfigId"):
                seen[str(publisher["oidcConfigId"])] = publisher
        return [Credential(
            provider="npm", kind="trusted_publisher", id=config_id,
            principal=str(publisher.get("id") or "unknown provider"), status="unknown",
            details={"package": name, "listed": False, "read_gap": gap,
                     "source": "packument _npmUser.trustedPublisher"})
            for config_id, publisher in seen.items()]

    # --- revoke and verify --------------------------------------------------------------

    @staticmethod
    def _manual(credential: Credential, why: str) -> ActionResult:
        name = credential.details["package"]
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=Outcome.MANUAL, detail=why,
            instructions=(
                f"An owner of {name} (signed in with 2FA): open {NPM_WEB}/package/{name}/access "
                f"→ Trusted Publisher and remove the configuration {credential.id} "
                f"({credential.principal}), or run `npm trust revoke {name} --id "
                f"{credential.id}`; until the CI workflow is cleaned, publish only by hand. "
                "Re-run this case to verify."))

    def revoke(self, credential: Credential) -> ActionResult:
        name = credential.details["package"]
        configs, gap = self.listed(name)
        if configs is not None and not any(str(c.get("id")) == credential.id for c in configs):
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.DONE, detail="already removed")
        path = f"/-/package/{quote(name, safe='@')}/trust/{quote(credential.id, safe='')}"
        try:
            response = self.registry.call("DELETE", path,
                                          ok=(200, 202, 204, *UNSERVED, *REFUSED),
                                          headers=self.registry.headers())
        except OtpRequired as error:
            return self._manual(credential, str(error))
        if response.status_code in REFUSED:
            return self._manual(credential, f"the registry refused the removal (HTTP "
                                            f"{response.status_code}): it needs an owner's "
                                            "session with 2FA")
        if response.status_code in UNSERVED:
            return self._manual(credential, "this registry has no trusted-publisher API "
                                            f"(HTTP {response.status_code})")
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail="trusted publisher removed", requests=(f"DELETE {path}",))

    def verify(self, credential: Credential) -> ActionResult:
        name = credential.details["package"]
        configs, gap = self.listed(name)
        if configs is None:  # the registry does not list them: nobody here can tell
            return _verified(credential, Outcome.INDETERMINATE,
                             f"cannot list trusted publishers ({gap}): confirm at "
                             f"{NPM_WEB}/package/{name}/access")
        still = any(str(c.get("id")) == credential.id for c in configs)
        return _verified(credential, Outcome.FAILED if still else Outcome.DONE,
                         "still configured" if still else "no longer listed")
