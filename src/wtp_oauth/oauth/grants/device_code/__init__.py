"""The OAuth 2.0 device authorization grant (RFC 8628).

- ``rules``: user codes, the polling decision, the request checks (pure functions);
- ``storage``: the storage interface the grant and the page need, and its records;
- ``authorization``: the device authorization request (§3.1–3.2);
- ``verification``: the user typing the code and answering (§3.3);
- ``grant``: the token endpoint's side (§3.4–3.5).

Importing this package imports none of them, so that each can import what it needs.
"""
