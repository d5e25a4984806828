"""The SMPP server for customers: an edge beside ``smsgate.api``, turning submit_sm into the same
accepts as the HTTP API and sending receipts and inbound messages back as deliver_sm.

``service``: sessions, binds, submits, query_sm and the receipt/MO job workers; ``submit``: a submit
PDU as a message request; ``deliver``: message rows as deliver_sm PDUs.
"""
