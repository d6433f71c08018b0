"""The Prefect orchestration drives the same steps: each credential's action is a task run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import connectors
from flows.respond import ResponseRequest, prepare, respond_flow
from flows.runners import PrefectRunner
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


def test_a_paused_flow_waits_for_revoker_approve_and_resumes_with_its_answer(
        prefect_api, tmp_path: Path, monkeypatch) -> None:
    import threading
    import time

    from flows.approval import approve_case

    monkeypatch.setitem(connectors.CONNECTORS, "demo",
                        "tests.foundation.demo_connector:DemoConnector")
    server = RecordingServer()
    server.tokens = {"t0": {"id": "t0", "secret": "demo-secret-0000", "owner": "release-bot"}}
    server.thread.start()
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("identities:\n  - id: release-bot\n    providers:\n"
                         "      demo: {leaked_token_env: DEMO_TOKEN}\n")
    case = tmp_path / "case"
    response = prepare(ResponseRequest(
        identity="release-bot", inventory=inventory, case_dir=case, approve="prompt",
        playbook="compromised-release-identity", orchestrator="prefect"),
        environ={"REVOKER_DEMO_URL": server.url, "DEMO_TOKEN": "demo-secret-0000"})
    outcome: list[str] = []
    runner = threading.Thread(target=lambda: outcome.append(respond_flow(response)))
    runner.start()
    try:
        flow_run_id = _wait_until_paused(case, deadline=time.monotonic() + 90)
        assert not [r for r in server.requests if r == ("POST", "/quarantine")]
        approve_case(case, approver="Dana Lee", reason="malicious versions confirmed",
                     deny=False)
        runner.join(timeout=90)
    finally:
        server.httpd.shutdown()
    assert outcome == ["contained"], flow_run_id
    approvals = [json.loads(line)["data"] for line in (case / "ledger.jsonl").read_text()
                 .splitlines() if json.loads(line)["kind"] == "approval"]
    assert approvals and all(a["approver"] == "Dana Lee" for a in approvals)
    assert {a["mode"] for a in approvals} <= {"cli", "prefect"}
    assert ("POST", "/quarantine") in server.requests


def _wait_until_paused(case: Path, deadline: float) -> str:
    import time

    from prefect.client.orchestration import get_client

    async def state_of(flow_run_id: str) -> str:
        async with get_client() as client:
            return (await client.read_flow_run(flow_run_id)).state.type.value

    while time.monotonic() < deadline:
        flow_run_id = json.loads((case / "case.json").read_text()).get("flow_run_id")
        if flow_run_id and asyncio.run(state_of(flow_run_id)) == "PAUSED":
            return flow_run_id
        time.sleep(0.5)
    raise AssertionError("the flow run never paused for approval")
