"""Outbound HTTP pushes: delivery reports to notify URLs and inbound forwarding, with the documented
retry cycle, durable across restarts, inside a host policy."""
