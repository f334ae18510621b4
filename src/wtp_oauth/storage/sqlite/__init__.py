"""SQLite implementations, on SQLAlchemy Core over the application's aiosqlite engine."""
