"""Simulated operator networks for tests, benchmarks and demos.

``smsc``: an SMSC over real SMPP (``SmscSimulator``, run by ``smsgate smsc-simulator``). The in-process
simulated network connector is ``smsgate.connectors.simulator``.
"""
