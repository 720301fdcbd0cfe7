"""Alembic migrations for the bot's database; run by ``Store.migrate``."""
