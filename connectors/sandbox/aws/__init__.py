"""AWS in the sandbox: moto in server mode (server.py) and the seed section (seed.py)."""

from .server import CREDENTIALS, AwsProvider

__all__ = ["CREDENTIALS", "AwsProvider"]
