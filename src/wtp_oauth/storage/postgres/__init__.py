"""PostgreSQL implementations, on asyncpg driver connections."""
