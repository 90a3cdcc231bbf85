"""The database adapter: SQLAlchemy Core on SQLite or PostgreSQL, migrated by Alembic."""
