"""The steps a session may still owe after the password (and the page of each): until it has
taken them, a session reaches only its step's page (accounts.py, deps.py)."""

from __future__ import annotations

STEP_PAGES = {
    "mfa": "/login/code",
    "password": "/account/password",
    "mfa_setup": "/account/two-factor",
}
STEP_NAMES = {
    "mfa": "enter the one-time code from your authenticator app",
    "password": "choose a new password",
    "mfa_setup": "set up two-factor login, which your role requires",
}
