"""`revoker sandbox up` runs the GitHub fake too: its URL (the proxy's) is printed, another
process seeds it over the admin route, its calls reach the proxy's log, and `sandbox down`
stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.manager import request_log_from_state, sandbox_status
from connectors.sandbox.seed import apply_seed

TOKEN = "ghp_" + "Z" * 36


def revoker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_sandbox_up_serves_github_seeded_from_another_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "sb"
    env = {**os.environ, "REVOKER_SANDBOX_DIR": str(state_dir)}
    up = revoker("sandbox", "up", "--json", env=env)
    try:
        assert up.returncode == 0, up.stderr
        url = json.loads(up.stdout)["github"]
        assert url.startswith("http://127.0.0.1:")
        status = sandbox_status(state_dir)
        seeded = apply_seed(status, {"github": {"tokens": [{"value": TOKEN,
                                                            "login": "release-bot"}]}})
        assert seeded.github["window_start"]
        user = httpx.get(url + "/user", headers={"Authorization": f"token {TOKEN}"})
        assert user.status_code == 200 and user.json()["url"] == url + "/users/release-bot"
        logged = [(e["method"], e["path"]) for e in request_log_from_state(status, "github")]
        assert logged == [("GET", "/user")]  # seeding went around the proxy
    finally:
        assert revoker("sandbox", "down", env=env).returncode == 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/user", timeout=2)
