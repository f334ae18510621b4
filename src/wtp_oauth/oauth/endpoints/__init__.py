"""The OAuth endpoints' logic, without HTTP: token, revocation, introspection, bearer checks."""
