"""Alembic environment: runs on the connection smsgate hands it (see store/migrate.py)."""

from alembic import context

from smsgate.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `smsgate db upgrade` (smsgate.store.migrate)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
