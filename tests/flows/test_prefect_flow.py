"""The Prefect orchestration drives the same steps: each credential's action is a task run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import connectors
from flows.respond import PrefectRunner, ResponseRequest, prepare, respond_flow
from tests.foundation.conftest import RecordingServer

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory):
    from prefect.settings import PREFECT_HOME, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect-home")
    with temporary_settings({PREFECT_HOME: str(home)}), \
            prefect_test_harness(server_startup_timeout=120):
        yield


def test_respond_flow_runs_each_revocation_as_a_task(prefect_api, tmp_path: Path,
                                                     monkeypatch) -> None:
    monkeypatch.setitem(connectors.CONNECTORS, "demo",
                        "tests.foundation.demo_connector:DemoConnector")
    server = RecordingServer()
    server.tokens = {f"t{i}": {"id": f"t{i}", "secret": f"demo-secret-{i:04d}",
                               "owner": "release-bot"} for i in range(3)}
    server.thread.start()
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("identities:\n  - id: release-bot\n    providers:\n"
                         "      demo: {leaked_token_env: DEMO_TOKEN}\n")
    request = ResponseRequest(identity="release-bot", inventory=inventory,
                              case_dir=tmp_path / "case", playbook="contain-only",
                              orchestrator="prefect")
    response = prepare(request, environ={"REVOKER_DEMO_URL": server.url,
                                         "DEMO_TOKEN": "demo-secret-0000"})
    assert isinstance(response.runner, PrefectRunner)
    try:
        assert respond_flow(response) == "contained"
    finally:
        server.httpd.shutdown()
    assert server.tokens == {}

    meta = json.loads((tmp_path / "case" / "case.json").read_text())
    task_names = asyncio.run(_task_run_names(meta["flow_run_id"]))
    assert task_names.count("revoke") == 3


async def _task_run_names(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return [run.name.rsplit("-", 1)[0] for run in runs]
