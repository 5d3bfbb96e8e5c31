"""Schemathesis hooks for the Graminsta API: every run signs up its own user and sends that user's bearer token.

Log-out revokes the token it is sent with, so it gets a fresh session of its own each time instead of the shared one.
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
        token = data
        if case.operation.path == "/api/v1/sessions/current" and case.method.upper() == "DELETE":
            token = _post("/api/v1/sessions", {"username": USERNAME, "password": PASSWORD})["token"]
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {token}"
