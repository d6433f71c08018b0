"""The local sandbox: real provider servers on 127.0.0.1 for tests, drills and the demo.

Provider peers, not connectors: no module in connectors/ imports this package.
"""
