"""The token endpoint's grants, one package each (RFC 6749 §4, RFC 8628).

A grant declares its ``grant_type`` and parameters, parses its request, runs the one storage
call that does its work (guarded by the client's authentication) and answers from what that
call looked at, through its pure ``rules``. ``oauth/registry.py`` lists them.
"""
