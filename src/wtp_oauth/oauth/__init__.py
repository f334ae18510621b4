"""The OAuth core: grants, their rules and the storage they need; no FastAPI, no SQL."""
