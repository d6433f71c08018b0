"""The sandbox's provider peers, in one table: what the manager starts, what a seed section
is applied with, how each peer's request log is read for writes, and where its fidelity to
the real service is held. Adding a peer = its folder (connectors/sandbox/<name>/) and one
line here.

Servers and seed sections are named "module:attribute" (relative to this package) and
imported only when used, so reading the table (the proxy does, for every log entry) loads
no server.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class Peer:
    name: str
    server: str  # the server class, built as Server(workdir, **options); see manager.py
    seed: str | None  # the seed section class (seed/model.py's Section), or None
    protocol: str  # its read/write table in mutations.py
    managed: bool = True  # started by Sandbox; False: tests start it where they need it
    strict: str = ""  # where its rules are held to the real service's

    def load_server(self) -> Any:
        return _load(self.server)

    def load_seed(self) -> Any:
        return _load(self.seed) if self.seed else None


PEERS: dict[str, Peer] = {peer.name: peer for peer in (
    Peer("aws", "aws.server:AwsProvider", "aws.seed:AwsSection", "aws",
         strict="moto 5 in server mode: AWS's own service models"),
    Peer("npm", "npm.server:NpmProvider", "npm.seed:NpmSection", "npm",
         strict="verdaccio 6 behind an npmjs-like front (npm/front.py cites npm/cli)"),
    Peer("pypi", "pypi.server:PypiProvider", "pypi.seed:PypiSection", "pypi",
         strict="pypiserver, and the Warehouse fake (pypi/warehouse.py cites Warehouse)"),
    Peer("oci", "oci.server:OciProvider", "oci.seed:OciSection", "oci",
         strict="CNCF distribution 2.8, the OCI distribution spec's reference registry"),
    Peer("github", "github.server:GitHubFake", "github.seed:GitHubSection", "github",
         strict="GitHub's OpenAPI description (tests/sandbox/openapi.py checks every route)"),
    Peer("rekor", "rekor.server:RekorFake", None, "rekor", managed=False,
         strict="Rekor v1's openapi.yaml; serves recorded entries (tests/connectors/data)"),
)}

# The peers a Sandbox starts when it is given no list. Seeds are applied in this order too:
# GitHub's world loads whole, after the other peers' identities, just before the window.
PROVIDERS = tuple(name for name, peer in PEERS.items() if peer.managed)


def protocol_of(name: str | None) -> str | None:
    """The protocol a peer's log is read with; None for a proxy no peer describes."""
    peer = PEERS.get(name or "")
    return peer.protocol if peer else None


def _load(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(import_module(f".{module}", __package__), attribute)
