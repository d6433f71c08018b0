"""GitHub: the connector (connector.py), its inventory section and its playbook options."""

from .config import GitHubConfig, GitHubOptions, web_url
from .connector import GitHubConnector

__all__ = ["GitHubConfig", "GitHubConnector", "GitHubOptions", "web_url"]
