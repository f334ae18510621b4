"""A command-line client of the device flow (RFC 8628 §3), as a CLI tool would be one.

``python device_cli.py BASE_URL CLIENT_ID``: asks for a device code, prints one JSON line with
what to show the user (the user code and where to type it), polls the token endpoint honouring
``interval`` and ``slow_down``, then calls the user API with the access token and prints a
second JSON line: the tokens, the profile and the errors it met while polling. Exit status 1
if the user denied or the code expired. Run by tests/e2e/test_device_live.py.
"""

from __future__ import annotations

import json
import sys
import time

import httpx

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"


def main(base_url: str, client_id: str) -> int:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        r = http.post(
            "/api/oauth/device_authorization", data={"client_id": client_id, "scope": "user.read"}
        )
        r.raise_for_status()
        device = r.json()
        shown = {key: device[key] for key in ("user_code", "verification_uri", "interval")}
        shown["verification_uri_complete"] = device["verification_uri_complete"]
        print(json.dumps(shown), flush=True)
        interval = device["interval"]
        deadline = time.monotonic() + device["expires_in"]
        errors: list[str] = []
        while time.monotonic() < deadline:
            time.sleep(interval)
            r = http.post(
                "/api/oauth/token",
                data={
                    "grant_type": GRANT_TYPE,
                    "device_code": device["device_code"],
                    "client_id": client_id,
                },
            )
            body = r.json()
            if r.status_code == 200:
                break
            errors.append(body["error"])
            if body["error"] == "slow_down":
                interval += 5
            elif body["error"] != "authorization_pending":
                print(json.dumps({"failed": body["error"], "polls": errors}), flush=True)
                return 1
        else:
            print(json.dumps({"failed": "timeout", "polls": errors}), flush=True)
            return 1
        me = http.get("/api/users/@me", headers={"Authorization": f"Bearer {body['access_token']}"})
        result = {
            "tokens": body,
            "me": me.json(),
            "polls": errors,
            "device_code": device["device_code"],
        }
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
