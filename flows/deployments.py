"""`revoker serve`: the Prefect deployments — `respond` (run with parameters, or triggered by
an event) and `sweep` (nightly cron). Needs a Prefect server (`prefect server start`, with
PREFECT_API_URL pointing at it); schedules and triggers do not run on a temporary server.

Triggering a response from a webhook or alert: post an event to the Prefect API, e.g. from a
GitHub secret-scanning alert relay,

    POST $PREFECT_API_URL/events
    [{"event": "revoker.secret.leaked", "resource": {"prefect.resource.id": "identity.release-bot"},
      "payload": {"identity": "release-bot", "since": "2026-11-20T08:00Z"}, ...}]

and the `respond` deployment's trigger starts a run with `identity` and `since` taken from
the event payload. Secrets are never parameters: the run reads them from its environment.
"""

from __future__ import annotations

import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from prefect import flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

from .respond import ResponseRequest, finish, prepare, respond_flow
from .sweep import sweep_cli

SWEEP_CRON = os.environ.get("REVOKER_SWEEP_CRON", "0 3 * * *")


@flow(name="respond-deployment", log_prints=True)
def respond(identity: str, since: str | None = None, until: str | None = None,
            playbook: str = "compromised-release-identity", dry_run: bool = False,
            inventory: str = "inventory.yaml", case_dir: str | None = None) -> str:
    request = ResponseRequest(identity=identity, inventory=Path(inventory), since=since,
                              until=until, dry_run=dry_run, playbook=playbook,
                              case_dir=Path(case_dir) if case_dir else None,
                              orchestrator="prefect")
    response = prepare(request)
    status = respond_flow(response)
    finish(response.case.directory, print)
    return status


@flow(name="sweep-deployment", log_prints=True)
def sweep(inventory: str = "inventory.yaml", max_age_days: int | None = None,
          unused_days: int | None = None, policy: str | None = None) -> str:
    """The nightly sweep; thresholds default to the sweep policy's."""
    return sweep_cli(inventory=Path(inventory), use_sandbox=False, max_age_days=max_age_days,
                     unused_days=unused_days, revoke=False, case_dir=None, say=print,
                     policy=Path(policy) if policy else None)


def serve_deployments() -> None:
    trigger = DeploymentEventTrigger(
        expect={"revoker.secret.leaked"},
        parameters={"identity": "{{ event.payload.identity }}",
                    "since": "{{ event.payload.since }}"},
    )
    serve(
        _built(respond.to_deployment(name="respond", triggers=[trigger])),
        _built(sweep.to_deployment(name="nightly-sweep", cron=SWEEP_CRON)),
    )


def _built(deployment: RunnerDeployment | Coroutine[Any, Any, RunnerDeployment]
           ) -> RunnerDeployment:
    """`to_deployment` is typed for async callers too (Prefect's async_dispatch); called
    from sync code, as here, it returns the deployment itself."""
    assert isinstance(deployment, RunnerDeployment)
    return deployment
