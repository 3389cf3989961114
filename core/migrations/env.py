"""Alembic environment: run by `core.store.migrate` (and `python -m core db`), which hands over an
open connection in `config.attributes["connection"]`; there is no alembic.ini and no URL here."""
from alembic import context
from sqlmodel import SQLModel

import core.store  # noqa: F401  (the tables, for `--autogenerate`-style comparisons in tests)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
