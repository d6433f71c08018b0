"""The GitHub fake: a stateful fake of GitHub's REST API (server.py) — its routes
(routes.py, repo_routes.py), the request and answer types they share (calls.py), the JSON
shapes (render.py), the world a seed builds (world.py) and the seed section (seed.py)."""

from .calls import Call, Principal, Problem, Reply
from .server import GitHubFake
from .world import GitHubSeedError

__all__ = ["Call", "GitHubFake", "GitHubSeedError", "Principal", "Problem", "Reply"]
