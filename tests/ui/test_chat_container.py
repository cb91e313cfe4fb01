"""The chat UI's container in its deployed shape, without Docker: what the image holds, run as the task runs it.

- Dependencies: a fresh venv under build/chat-ui/ (Python 3.11, the image's), filled from the image's own
  containers/chat_ui/requirements.txt with `--no-deps`, then `pip check`: the frozen closure must be whole.
  Built once per requirements digest; pip needs the registry the first time.
- Code: the files the Dockerfile copies, taken from the image asset `cdk synth` staged (chatUi=true), laid out
  where the Dockerfile puts them (/app -> build/chat-ui/app).
- Run: the task definition's command and environment, read from the synthesized template. Values CloudFormation
  would resolve (the API URL, the bucket, the client id, the redirect URI) and the two Secrets Manager values are
  given stand-ins, the API URL being a stub of the query API (tests/ui/stub_api.py); the port is a free one, not
  the task's 8501, on a machine others share.

Checked: the server answers the target group's health check path; Streamlit's sign-in is configured (its login
route sends the browser to the user pool's authorization endpoint with the template's client id and redirect
URI, which needs Authlib, in the image only); a question asked through the image's UI code and dependencies
reaches the stub API with the bearer token; and, in headless Chromium, a user signs in through a stub of the
pool's OIDC endpoints (discovery, authorize, token with the client secret, keys; an RS256 ID token with the
login's nonce), then asks and follows up: the API sees the ID token the pool issued, in one session.
Screenshots: build/ui-screenshots/aws-*.png. Not checked: Cognito itself, or anything deployed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from stacks.components.chat_ui import CHAT_UI_COMMAND, DOCKERFILE, HEALTH_CHECK_PATH
from tests.ui.stub_api import BUCKET, TOKEN, StubApi, queries, send_json, serving
from tests.ui.test_chat_browser import ask, browser, screenshot, waiting  # noqa: F401 (browser: Chromium, a fixture)

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD = REPO_ROOT / "build" / "chat-ui"
REQUIREMENTS = REPO_ROOT / "containers" / "chat_ui" / "requirements.txt"
IMAGE_APP_DIR = "/app"  # the Dockerfile's WORKDIR, where it copies ragline/ and start.py
PYTHON = shutil.which("python3.11")
STARTUP_S = 90.0
# What the task's environment gets from CloudFormation, and the two secrets ECS injects, stood in for here.
CLIENT_ID = "chat-ui-client"
CLIENT_SECRET = "client-secret-from-secrets-manager"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def image_venv() -> Path:
    """build/chat-ui/venv-<digest>: the image's dependencies, installed as the Dockerfile installs them."""
    assert PYTHON, "python3.11 (the image's Python) is not installed"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    venv = BUILD / f"venv-{digest}"
    if not (venv / ".complete").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        # --no-compile: the image compiles its bytecode at build, which changes nothing the tests see; here,
        # compiling every file of the closure would cost CI about a minute for modules never imported.
        subprocess.run([*pip, "install", "--no-compile", "--no-deps", "-r", str(REQUIREMENTS)], check=True)
        (venv / ".complete").touch()
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return venv


@pytest.fixture(scope="module")
def task(tmp_path_factory) -> tuple[dict, Path]:
    """The synthesized task's container definition, and the image's /app laid out from the staged asset."""
    from tests.infra.conftest import _glue_scripts_dir
    from tests.infra.test_chat_ui import synth

    synthesized = synth(
        {"chatUi": "true", "apiAuth": "cognito"},
        tmp_path_factory.mktemp("cdk.out.chat-ui"),
        _glue_scripts_dir(tmp_path_factory),
    )
    ((_, definition),) = synthesized.resources("AWS::ECS::TaskDefinition").items()
    (container,) = definition[1]["Properties"]["ContainerDefinitions"]
    manifest = json.loads((synthesized.outdir / f"{synthesized.stack_names['service']}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    context = synthesized.outdir / image["source"]["directory"]
    dockerfile = (context / DOCKERFILE).read_text()
    app = BUILD / "app"
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    for source, target in (("ragline", "ragline"), ("containers/chat_ui/start.py", "start.py")):
        assert f"COPY {source} {IMAGE_APP_DIR}/{target}" in dockerfile, f"the Dockerfile no longer copies {source}"
        copy = shutil.copytree if (context / source).is_dir() else shutil.copy
        copy(context / source, app / target)
    assert f"PYTHONPATH={IMAGE_APP_DIR}" in dockerfile
    return container, app


class OidcProvider:
    """The user pool's OIDC side on loopback, as the login reads it: discovery, an authorize endpoint that signs the
    user in at once (no page), a token endpoint that checks the client's secret and the code, and the keys. The ID
    tokens it issues (RS256, with the login's nonce) are added to what the stub API accepts, as the authorizer
    accepts the pool's tokens."""

    def __init__(self, api: StubApi, client_secret: str) -> None:
        self.api = api
        self.client_secret = client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "pool-key", "alg": "RS256", "use": "sig"})
        self.codes: dict[str, str] = {}  # code -> the nonce of the login it ends
        self.issued: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                send_json(self, status, body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, provider.metadata())
                if url.path == "/.well-known/jwks.json":
                    return self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                if url.path == "/oauth2/authorize":
                    query = {name: values[0] for name, values in parse_qs(url.query).items()}
                    code = uuid.uuid4().hex
                    provider.codes[code] = query.get("nonce", "")
                    self.send_response(302)
                    self.send_header(
                        "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    )
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                form = {
                    k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()
                }
                client = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{provider.client_secret}".encode()).decode()
                if client != expected and (form.get("client_id"), form.get("client_secret")) != (
                    CLIENT_ID,
                    provider.client_secret,
                ):
                    return self._json(401, {"error": "invalid_client"})
                if form.get("grant_type") != "authorization_code" or form.get("code") not in provider.codes:
                    return self._json(400, {"error": "invalid_grant"})
                now = int(time.time())
                claims = {
                    "iss": provider.base,
                    "aud": CLIENT_ID,
                    "sub": "user-ana",
                    "email": "ana@example.org",
                    "token_use": "id",
                    "nonce": provider.codes.pop(form["code"]),
                    "iat": now,
                    "exp": now + 3600,
                }
                id_token = jwt.encode({"alg": "RS256", "kid": "pool-key"}, claims, provider.key)
                provider.issued.append(id_token)
                provider.api.tokens.add(id_token)
                return self._json(
                    200,
                    {
                        "id_token": id_token,
                        "access_token": "access-" + uuid.uuid4().hex,
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = Thread(target=self.server.serve_forever, daemon=True)

    def metadata(self) -> dict:
        return {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/oauth2/authorize",
            "token_endpoint": f"{self.base}/oauth2/token",
            "jwks_uri": f"{self.base}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def environment(container: dict, *, api: StubApi, oidc: OidcProvider, port: int) -> dict[str, str]:
    """The task's environment: its literal values as the template states them, stand-ins for the resolved ones."""
    stand_ins = {
        "RAGLINE_UI_API_URL": api.url,
        "RAGLINE_UI_SOURCE_BUCKET": BUCKET,
        "RAGLINE_UI_REDIRECT_URI": f"http://127.0.0.1:{port}/oauth2callback",
        "RAGLINE_UI_OIDC_METADATA_URL": f"{oidc.base}/.well-known/openid-configuration",
        "RAGLINE_UI_CLIENT_ID": CLIENT_ID,
        "RAGLINE_UI_PORT": str(port),
        "RAGLINE_UI_CLIENT_SECRET": CLIENT_SECRET,
        "RAGLINE_UI_COOKIE_SECRET": "cookie-secret-from-secrets-manager",
    }
    names = [item["Name"] for item in container["Environment"]] + [item["Name"] for item in container["Secrets"]]
    assert sorted(names) == sorted(stand_ins), "the task's environment changed: give this test its stand-ins"
    literal = {item["Name"]: item["Value"] for item in container["Environment"] if isinstance(item["Value"], str)}
    assert literal.pop("RAGLINE_UI_PORT") == "8501"  # replaced by a free port (see the module's docstring)
    assert not literal, f"literal values this test would override: {literal}"
    return {name: stand_ins[name] for name in names}


def command(container: dict, venv: Path, app: Path) -> list[str]:
    """The task's command with the image's paths mapped to the build folder: `python` is the venv's."""
    assert container["Command"] == CHAT_UI_COMMAND
    mapped = {"python": str(venv / "bin" / "python")}
    return [mapped.get(part, part.replace(IMAGE_APP_DIR, str(app), 1)) for part in container["Command"]]


@dataclass
class Running:
    base: str
    api: StubApi
    oidc: OidcProvider
    env: dict[str, str]
    log: Path


@pytest.fixture(scope="module")
def running(image_venv, task, tmp_path_factory) -> Iterator[Running]:
    container, app = task
    port = free_port()
    home = tmp_path_factory.mktemp("home")
    with serving() as api, OidcProvider(api, CLIENT_SECRET) as oidc:
        env = environment(container, api=api, oidc=oidc, port=port)
        # The image's user has a home and nothing else: no proxy, no site packages, no credentials of ours.
        process_env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(app), "TMPDIR": str(home), **env}
        log = home / "ui.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                command(container, image_venv, app), env=process_env, stdout=output, stderr=subprocess.STDOUT
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_S
            while True:
                assert process.poll() is None, f"the UI exited ({process.returncode}):\n{log.read_text()}"
                try:
                    if httpx.get(base + HEALTH_CHECK_PATH, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no health in {STARTUP_S} s:\n{log.read_text()}"
                time.sleep(0.5)  # polling a starting server: the wait ends on its answer, not on this sleep
            yield Running(base, api, oidc, process_env, log)
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_the_image_python_is_the_dockerfiles():
    dockerfile = (REPO_ROOT / DOCKERFILE).read_text()
    version = subprocess.run([PYTHON, "-c", "import sys; print(sys.version[:4])"], capture_output=True, text=True)
    assert f"FROM python:{version.stdout.strip()}-slim" in dockerfile


def test_the_task_answers_its_health_check_and_serves_the_page(running):
    base = running.base
    health = httpx.get(base + HEALTH_CHECK_PATH, timeout=10)
    assert (health.status_code, health.text) == (200, "ok")
    assert httpx.get(base + "/", timeout=10).status_code == 200


def test_sign_in_sends_the_browser_to_the_user_pool_with_the_templates_client_and_redirect(running, image_venv):
    base, env = running.base, running.env
    # What st.login() sends the browser to: /auth/login with a provider token signed by the cookie secret.
    token = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", "from streamlit.auth_util import encode_provider_token; "
         "print(encode_provider_token('default'))"],
        capture_output=True, text=True, cwd=_secrets_folder(env), env={**env, "PATH": "/usr/bin:/bin"}, check=True,
    ).stdout.strip()  # fmt: skip
    response = httpx.get(f"{base}/auth/login", params={"provider": token}, timeout=10)
    assert response.status_code in (302, 303, 307), response.text
    target = urlsplit(response.headers["location"])
    query = parse_qs(target.query)
    assert target.path == "/oauth2/authorize"
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [env["RAGLINE_UI_REDIRECT_URI"]]
    assert query["response_type"] == ["code"]
    assert (query["scope"], query["prompt"]) == (["openid email profile"], ["login"])


def _secrets_folder(env: dict[str, str]) -> str:
    """The folder start.py wrote .streamlit/secrets.toml into: the one ragline-ui-* folder in its TMPDIR."""
    (folder,) = Path(env["TMPDIR"]).glob("ragline-ui-*")
    secrets = folder / ".streamlit" / "secrets.toml"
    assert secrets.stat().st_mode & 0o777 == 0o600
    return str(folder)


def test_a_question_through_the_images_ui_reaches_the_api_as_the_signed_in_user(running, image_venv, task):
    api, env = running.api, running.env
    _, app = task
    script = textwrap.dedent(
        f"""
        import json
        from streamlit.testing.v1 import AppTest
        page = AppTest.from_file({str(app / "ragline" / "entrypoints" / "ui.py")!r}, default_timeout=60)
        page.user = {{"is_logged_in": True, "tokens": {{"id": {TOKEN!r}}}}}
        page.run()
        page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
        print(json.dumps({{
            "exception": [str(e.value) for e in page.exception],
            "errors": [e.value for e in page.error],
            "answer": [m.markdown[0].value for m in page.chat_message if m.name == "assistant"],
        }}))
        """
    )
    result = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", script],
        capture_output=True,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["exception"] == [] and shown["errors"] == []
    assert shown["answer"] == [r"Net income was \$12\.5 million \[1\] \(turn 1\)\."]
    ((authorization, body),) = [(a, b) for a, b in queries(api) if a == f"Bearer {TOKEN}"]
    assert authorization == f"Bearer {TOKEN}"
    assert body["question"] == "What was Northwind Cycles' net income?" and body["session"].startswith("ui-")
    loaded = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", "import ragline.entrypoints.ui, sys; "
         "print(sorted({'torch', 'onnxruntime', 'tokenizers', 'scipy', 'ragline.bootstrap'} & set(sys.modules)))"],
        capture_output=True, text=True, env={**env, "PATH": "/usr/bin:/bin"}, check=True,
    )  # fmt: skip
    assert loaded.stdout.strip().splitlines()[-1] == "[]"


def test_a_task_missing_a_setting_stops_at_once_naming_it(image_venv, task):
    container, app = task
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(app), "RAGLINE_UI_API_URL": "https://api.example.org/v1/"}
    result = subprocess.run(command(container, image_venv, app), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "missing or blank environment variable(s): RAGLINE_UI_REDIRECT_URI, RAGLINE_UI_OIDC_METADATA_URL" in (
        result.stderr
    )


def test_in_a_browser_a_user_signs_in_through_the_pool_and_asks_as_themselves(running, browser):  # noqa: F811
    """The whole path a user takes: the page, Sign in, the pool's authorize and token endpoints (stubbed),
    back signed in, a question and its follow-up; the API sees the ID token the pool issued, and one session."""
    browser.get(running.base)
    sign_in = (By.XPATH, "//button[.//p[text()='Sign in']]")
    waiting(browser, STARTUP_S).until(ec.element_to_be_clickable(sign_in)).click()
    first = ask(browser, "What was Northwind Cycles' net income?", 1)
    screenshot(browser, "aws-signed-in-answer")
    assert "Net income was $12.5 million [1] (turn 1)." in first.text
    second = ask(browser, "and the year before?", 2)
    assert "read as: and the year before? (Northwind Cycles net income)" in second.text
    screenshot(browser, "aws-follow-up")
    (issued,) = running.oidc.issued
    asked = [(authorization, body) for authorization, body in queries(running.api) if body.get("session", "")]
    browser_turns = [body for authorization, body in asked if authorization == f"Bearer {issued}"]
    assert [body["question"] for body in browser_turns] == [
        "What was Northwind Cycles' net income?",
        "and the year before?",
    ]
    assert browser_turns[0]["session"] == browser_turns[1]["session"]
