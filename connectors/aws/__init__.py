"""AWS: the connector (`connector`), its inventory section and playbook options (`config`),
the names of the policies it writes (`documents`) and the write-once export (`export`)."""

from .config import AwsConfig, AwsOptions
from .connector import AwsConnector
from .documents import DENY_ALL, DENY_ALL_POLICY, OIDC_DENY_SID, REVOKE_SESSIONS_POLICY
from .export import export_case, verify_export

__all__ = ["DENY_ALL", "DENY_ALL_POLICY", "OIDC_DENY_SID", "REVOKE_SESSIONS_POLICY", "AwsConfig",
           "AwsConnector", "AwsOptions", "export_case", "verify_export"]
