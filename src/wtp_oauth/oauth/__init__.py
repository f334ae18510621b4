"""The OAuth core: grants, client authentication, the endpoints' logic. No HTTP, no SQL.

The web layer (``routers/``) parses a request, calls one function here and renders what it
returns or raises (``wtp_oauth.errors``); storage (``wtp_oauth.storage``) implements the small
interfaces declared next to the code that uses them.
"""
