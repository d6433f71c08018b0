"""Revoker's flows: the response, sweep and drill pipelines, the case directory and the CLI."""
