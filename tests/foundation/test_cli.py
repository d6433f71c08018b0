"""The command line: help, bad input (one clear line, exit 2, nothing created), verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows.case import write_manifest

from .test_ledger import make_ledger


def revoker(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, timeout=60)


def test_help_lists_every_command() -> None:
    out = revoker("--help").stdout
    for command in ("respond", "sweep", "drill", "approve", "report", "verify", "sandbox",
                    "serve", "export"):
        assert command in out


INVENTORY = "identities:\n  - id: release-bot\n    providers: {}\n"


@pytest.mark.parametrize(
    ("inventory", "args", "expected"),
    [
        (INVENTORY, ["--identity", "ghost"], "inventory.yaml:identities: unknown identity 'ghost'"),
        ("identities: [\n", ["--identity", "x"], "inventory.yaml:line 2: invalid YAML"),
        ("identities:\n  - {id: x, colour: red}\n", ["--identity", "x"],
         "inventory.yaml:identities[0].colour: Extra inputs are not permitted"),
        ("identities:\n  - {id: x, providers: {gitlab: {}}}\n", ["--identity", "x"],
         "identities[0].providers: Value error, unknown provider(s) ['gitlab']"),
        (INVENTORY, ["--identity", "release-bot", "--since", "yesterday"],
         "--since: not a timestamp: 'yesterday'"),
        (INVENTORY, ["--identity", "release-bot", "--playbook", "nope"],
         "--playbook: no playbook named 'nope'"),
        (INVENTORY, ["--identity", "release-bot"], "lists no providers"),
        ("identities:\n  - id: x\n    providers:\n      github: {login: bot, "
         "leaked_tokens_file_envs: [REVOKER_TEST_UNSET_FILE_ENV]}\n", ["--identity", "x"],
         "inventory.yaml:identities[x].providers.github.leaked_tokens_file_envs[0]: "
         "environment variable REVOKER_TEST_UNSET_FILE_ENV is not set"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_mutates_nothing(
    tmp_path: Path, inventory: str, args: list[str], expected: str
) -> None:
    (tmp_path / "inventory.yaml").write_text(inventory)
    done = revoker("respond", "--inventory", "inventory.yaml", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cases").exists()


def test_missing_inventory_file_is_bad_input(tmp_path: Path) -> None:
    done = revoker("respond", "--identity", "x", "--inventory", "absent.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "absent.yaml: cannot read" in done.stderr


def test_verify_exit_codes(tmp_path: Path) -> None:
    make_ledger(tmp_path, opened=True)
    write_manifest(tmp_path)
    assert revoker("verify", str(tmp_path)).returncode == 0
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes(ledger.read_bytes().replace(b'"n":3', b'"n":4'))
    done = revoker("verify", str(tmp_path))
    assert done.returncode == 1 and "ledger.jsonl line 5 (seq 4)" in done.stderr
    assert revoker("verify", str(tmp_path / "nope")).returncode == 2


@pytest.mark.parametrize("args", [["respond", "--bogus"], ["nosuch"],
                                  ["respond", "--identity"]])
def test_command_line_mistakes_are_bad_input(args: list[str]) -> None:
    done = revoker(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("revoker: ") and "unexpected" not in done.stderr


def test_end_of_input_at_the_approval_prompt_is_no_answer(monkeypatch) -> None:
    """It printed an empty 'revoker: ' and exited 2 ("nothing mutated") just after
    revoking credentials; now the case waits for `revoker approve`."""
    import io

    from flows.respond import _ask_on_terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(""))
    assert _ask_on_terminal() is None
