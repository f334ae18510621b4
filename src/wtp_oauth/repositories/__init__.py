"""Async data access. Repositories return domain objects and never commit."""
