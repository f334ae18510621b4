"""Storage of the OAuth core, one package per database, both implementing the interfaces that
the core declares beside the code that uses them (``oauth/context.py`` lists them).

``postgres/`` runs the token path on asyncpg driver connections, one prepared statement per
call (STYLE §9); ``sqlite/`` runs the same calls on SQLAlchemy Core for the embedded default.
"""
