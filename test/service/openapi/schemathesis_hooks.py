"""Schemathesis hooks for the Graminsta API: every run signs up its own user and sends that user's bearer token.

Log-out revokes the token it is sent with, so it gets a fresh session of its own each time instead of the shared one.
Operations where the token is optional (public reads) are sent, in turn, the valid token, none, a forged one and a
revoked one: a bad token is a 401 there too, and the document must say so. (Schemathesis itself sends no or bad
credentials to the operations that require them.)
The base URL comes from GRAMINSTA_ST_URL (set by the integration test that starts the service).
"""
import json
import os
import secrets
import urllib.error
import urllib.request

import schemathesis

BASE = os.environ["GRAMINSTA_ST_URL"]
PASSWORD = "st-" + secrets.token_hex(8)
USERNAME = "st_" + secrets.token_hex(6)
SIGNED_UP = False
# A token of the right shape that the service never issued.
FORGED = "AAAAAAAAAAAAAAAAAAAAAAAA.1.4102444800.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
_optional_calls = 0
_revoked = None


def _revoked_token() -> str:
    global _revoked
    if _revoked is None:
        token = _post("/api/v1/sessions", {"username": USERNAME, "password": PASSWORD})["token"]
        req = urllib.request.Request(BASE + "/api/v1/sessions/current", method="DELETE", headers={"authorization": f"Bearer {token}"})
        urllib.request.urlopen(req, timeout=10).close()
        _revoked = token
    return _revoked


def _post(path: str, body: dict) -> dict:
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return json.load(res)
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"POST {path} answered {err.code}: {err.read().decode(errors='replace')}") from err


@schemathesis.auth()
class BearerToken:
    def get(self, case, ctx):
        global SIGNED_UP
        if not SIGNED_UP:
            _post("/api/v1/users", {"username": USERNAME, "password": PASSWORD})
            SIGNED_UP = True
        return _post("/api/v1/sessions", {"username": USERNAME, "password": PASSWORD})["token"]

    def set(self, case, data, ctx):
        global _optional_calls
        token = data
        if case.operation.path == "/api/v1/sessions/current" and case.method.upper() == "DELETE":
            token = _post("/api/v1/sessions", {"username": USERNAME, "password": PASSWORD})["token"]
        elif {} in (case.operation.definition.raw.get("security") or []):
            _optional_calls += 1
            mode = _optional_calls % 4
            if mode == 1:
                return
            token = {0: token, 2: FORGED, 3: None}[mode] or _revoked_token()
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {token}"
