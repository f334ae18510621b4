"""The OAuth core's storage on SQLite (SQLAlchemy Core over aiosqlite), one module per concern."""
