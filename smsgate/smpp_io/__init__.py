"""SMPP over asyncio: the sessions that drive the sans-I/O codec in ``smsgate.smpp`` over TCP/TLS.

``session``: one ``Session`` (request, respond, keepalive, the read ladder) and one error family for
both roles. ``client``: the ESME side (``SmppClient``), used by the SMPP connector to reach an operator.
``server``: the SMSC side (``SmppServer``), used by the customer SMPP edge (``smsgate.smpp_edge``) and
the SMSC simulator (``smsgate.simulator``). ``catalog``: every mapping between SMPP and the status
catalog, shared by all three.
"""
