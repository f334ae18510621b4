"""The OAuth core's storage on PostgreSQL (asyncpg), one module per concern."""
