"""The chat UI container's command: Streamlit's sign-in settings from the task's environment, then the UI.

Streamlit reads its OIDC settings (`st.login`) from a secrets.toml file only, while ECS hands the task its
settings as environment variables, the Cognito app client's secret and the cookie secret among them (from
Secrets Manager). This writes them to `.streamlit/secrets.toml` in a fresh folder only this user can read,
makes that folder the working directory (where Streamlit looks for it), and replaces itself with
`streamlit run` on ragline's UI (exec: the task's process is Streamlit's, and ECS's stop signal reaches it).

A missing or blank variable stops the container at once with its name, before Streamlit starts.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import tomli_w

# Environment variable -> the key of Streamlit's [auth] section it fills.
AUTH_SETTINGS = {
    "RAGLINE_UI_REDIRECT_URI": "redirect_uri",
    "RAGLINE_UI_OIDC_METADATA_URL": "server_metadata_url",
    "RAGLINE_UI_CLIENT_ID": "client_id",
    "RAGLINE_UI_CLIENT_SECRET": "client_secret",
    "RAGLINE_UI_COOKIE_SECRET": "cookie_secret",
}
# Read by ragline/entrypoints/ui.py itself: checked here so that a task without them never starts.
UI_SETTINGS = ("RAGLINE_UI_API_URL", "RAGLINE_UI_SOURCE_BUCKET")
PORT_ENV = "RAGLINE_UI_PORT"
DEFAULT_PORT = "8501"


def settings(environ: dict[str, str]) -> dict[str, object]:
    """Streamlit's [auth] section from `environ`; SystemExit naming every missing variable."""
    missing = [name for name in (*AUTH_SETTINGS, *UI_SETTINGS) if not environ.get(name, "").strip()]
    if missing:
        raise SystemExit(f"chat UI: missing or blank environment variable(s): {', '.join(missing)}")
    auth: dict[str, object] = {key: environ[name].strip() for name, key in AUTH_SETTINGS.items()}
    # The API's Cognito authorizer validates ID tokens; ui.py sends st.user.tokens["id"].
    auth["expose_tokens"] = ["id"]
    # Streamlit asks for prompt=select_account unless told otherwise, a value meant for Google or Microsoft
    # accounts; prompt=login is one Cognito's authorize endpoint documents. The scopes are the app client's.
    auth["client_kwargs"] = {"scope": "openid email profile", "prompt": "login"}
    return {"auth": auth}


def write_secrets(values: dict[str, object]) -> Path:
    """A fresh private folder holding .streamlit/secrets.toml (mode 0600); returns the folder."""
    folder = Path(tempfile.mkdtemp(prefix="ragline-ui-"))  # mode 0700
    (folder / ".streamlit").mkdir(mode=0o700)
    secrets = folder / ".streamlit" / "secrets.toml"
    descriptor = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        tomli_w.dump(values, file)
    return folder


def command(environ: dict[str, str]) -> list[str]:
    port = environ.get(PORT_ENV, DEFAULT_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"chat UI: {PORT_ENV}={port!r} is not a TCP port")
    spec = importlib.util.find_spec("ragline.entrypoints.ui")  # found, not imported: Streamlit runs it
    if spec is None or spec.origin is None:
        raise SystemExit("chat UI: ragline.entrypoints.ui is not importable (is ragline/ on PYTHONPATH?)")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        spec.origin,
        "--server.address=0.0.0.0",  # behind the load balancer, in a private subnet
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",  # users get no developer menu (Deploy, rerun settings)
    ]


def main() -> None:
    environ = dict(os.environ)
    argv = command(environ)
    folder = write_secrets(settings(environ))
    os.chdir(folder)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
