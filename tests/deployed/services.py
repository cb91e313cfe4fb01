"""The services moto does not serve the way the runtime uses them, served the way AWS serves them.

- `SearchDomain`: the OpenSearch domain as an HTTP server on loopback. It speaks the REST calls
  the adapter makes (the in-memory engine of `tests.aws.fake_opensearch`, which checks every
  document against the index mapping) and authorizes each request by its SigV4 signature: the
  caller's role must allow `es:ESHttp<Method>` on the domain path, as the domain's IAM check does.
- `TextractService`: asynchronous document analysis as Textract runs it. It reads the PDF from
  S3 with the caller's permissions, analyses it into LAYOUT, LINE, WORD, TABLE and CELL blocks
  built from the PDF's real text, serves the result in pages chained by NextToken, writes the
  same pages to the job's OutputConfig bucket, and publishes the completion (with the JobTag)
  to the job's SNS topic, after checking the caller may pass the topic's role.
- `ModelEndpoints`: SageMaker and Bedrock runtime calls answered by deterministic embeddings and
  a chat reply that cites source [1] (the logic of `tests.aws.fake_endpoint`).
- `CloudFormationResponses`: the ResponseURLs CloudFormation gives a custom resource request, as
  an HTTPS server that keeps the response each handler PUTs there.
Each keeps a list of what it served, for the report and the assertions.
"""

from __future__ import annotations

import gc
import json
import re
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from tests.aws.fake_endpoint import FakeEndpoint
from tests.aws.fake_opensearch import FakeOpenSearch
from tests.aws.textract_responses import analysis_blocks, pages_from_pdf
from tests.deployed.template import ACCOUNT, REGION

TEXTRACT_PAGE_SIZE = 1000  # GetDocumentAnalysis returns at most 1,000 blocks per call
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


class AccessDeniedError(PermissionError):
    pass


def role_permits(access_key: str, action: str, resource: str) -> bool:
    """Whether the principal behind an access key may call `action` on `resource` (its identity policies)."""
    sts = sts_backends[ACCOUNT]["global"]
    iam = iam_backends[ACCOUNT]["global"]
    assumed = sts.get_assumed_role_from_access_key(access_key)
    if assumed is None:
        user = next((u for u in iam.users.values() for k in u.access_keys if k.access_key_id == access_key), None)
        if user is None:
            return False
        documents = list(user.policies.values())
    else:
        role = iam.get_role_by_arn(assumed.role_arn)
        documents = list(role.policies.values())
    allowed = False
    for document in documents:
        result = IAMPolicy(document).is_action_permitted(action, resource)
        if result is PermissionResult.DENIED:
            return False
        allowed = allowed or result is PermissionResult.PERMITTED
    return allowed


def access_key_of(headers: Any) -> str:
    match = _CREDENTIAL.search(headers.get("Authorization") or headers.get("authorization") or "")
    if not match:
        raise AccessDeniedError("the request is not signed with SigV4")
    return match.group(1)


# --- OpenSearch ------------------------------------------------------------------------------


@dataclass
class SearchDomain:
    domain_name: str = "ragline-search"
    engine: FakeOpenSearch = field(default_factory=FakeOpenSearch)
    denied: list[str] = field(default_factory=list)
    role_mappings: dict[str, list[str]] = field(default_factory=dict)  # security plugin role -> backend roles
    _server: ThreadingHTTPServer | None = None

    certificate: Path | None = None  # the CA bundle a function needs to trust this domain's TLS

    @property
    def host(self) -> str:
        """What CloudFormation's DomainEndpoint attribute holds: a host name (here with its port), no scheme."""
        assert self._server
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        domain = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: the report says what was served
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, payload = domain.handle(self.command, self.path, self.headers, raw)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve  # noqa: N815

        # HTTPS, as a domain with enforced HTTPS serves it: the functions' clients verify this certificate.
        self._server, self.certificate = serve_https(Handler, "search")

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def handle(self, method: str, target: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        path = unquote(parts.path)
        action = f"es:ESHttp{method.capitalize()}"
        resource = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{self.domain_name}{path}"
        try:
            if not role_permits(access_key_of(headers), action, resource):
                raise AccessDeniedError(f"{action} on {resource}")
        except AccessDeniedError as error:
            self.denied.append(str(error))
            return 403, {"message": f"not authorized: {error}"}
        body: Any = raw
        if raw and not path.endswith("_bulk"):
            body = json.loads(raw)
        if path.startswith("/_plugins/_security/api/"):
            return self._security(method, path, body)
        return self.engine.handle(method, path, dict(parse_qsl(parts.query)), body or None)

    def _security(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """The fine-grained access control API the role-mapping custom resource calls (roles and mappings)."""
        kind, _, name = path.removeprefix("/_plugins/_security/api/").partition("/")
        if kind == "rolesmapping" and method == "PUT":
            self.role_mappings[name] = list(body.get("backend_roles", []))
        elif kind == "rolesmapping" and method == "DELETE":
            self.role_mappings.pop(name, None)
        elif kind != "roles":
            return 400, {"status": "BAD_REQUEST", "message": f"unsupported security API {method} {path}"}
        return 200, {"status": "OK"}


def serve_https(handler: type[BaseHTTPRequestHandler], name: str) -> tuple[ThreadingHTTPServer, Path]:
    """`handler` served over HTTPS on a free loopback port, from a thread; and the certificate to trust."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    certificate, key = self_signed_certificate(Path(tempfile.mkdtemp(prefix=f"ragline-{name}-tls-")))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, certificate


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key (PEM files in `folder`)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ragline-search.local")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "domain.pem", folder / "domain.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


# --- Textract --------------------------------------------------------------------------------


@dataclass
class TextractJob:
    job_id: str
    blocks: list[dict]
    pages: int
    status: str = "SUCCEEDED"
    message: str | None = None


@dataclass
class PreparedResult:
    """A job's whole result made ahead of time (a synthetic long document), so that starting the job
    (inside the caller's HTTP request) only stores it: its blocks, and its result files serialized."""

    blocks: list[dict]
    pages: int
    files: list[bytes]

    @classmethod
    def of(cls, pages: list) -> PreparedResult:
        # 3,000 pages are 1.7 million block dicts, all kept: with the cyclic collector running, it would walk
        # the growing heap again and again while they are made (as in ragline's own parse: _collector_paused).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            blocks = analysis_blocks(pages)
            job = TextractJob("prepared", blocks, len(pages))
            starts = range(0, len(blocks), TEXTRACT_PAGE_SIZE)
            files = [json.dumps(TextractService._page(job, start, TEXTRACT_PAGE_SIZE)).encode() for start in starts]
        finally:
            if was_enabled:
                gc.enable()
        return cls(blocks, len(pages), files)


@dataclass
class TextractService:
    jobs: dict[str, TextractJob] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    # S3 key -> the result Textract "reads" from that object instead of its bytes (a synthetic long document)
    synthetic: dict[str, PreparedResult] = field(default_factory=dict)

    def install(self, monkeypatch: Any) -> None:
        from moto.textract.responses import TextractResponse

        service = self

        def start_document_analysis(response: TextractResponse) -> str:
            return json.dumps(service.start(json.loads(response.body), response.headers))

        def get_document_analysis(response: TextractResponse) -> str:
            return json.dumps(service.get(json.loads(response.body)))

        monkeypatch.setattr(TextractResponse, "start_document_analysis", start_document_analysis)
        monkeypatch.setattr(TextractResponse, "get_document_analysis", get_document_analysis)

    def start(self, params: dict, headers: Any) -> dict:
        from moto.s3.models import s3_backends

        token = params.get("ClientRequestToken")
        if token and token in self.tokens:
            return {"JobId": self.tokens[token]}  # idempotent, as Textract is for the same token
        caller = access_key_of(headers)
        location = params["DocumentLocation"]["S3Object"]
        bucket, key = location["Bucket"], location["Name"]
        self._require(caller, "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")
        channel = params.get("NotificationChannel")
        if channel:
            self._require(caller, "iam:PassRole", channel["RoleArn"])
        s3 = s3_backends[ACCOUNT]["global"]
        data = s3.get_object(bucket, key).value
        job = TextractJob(str(uuid.uuid4()), [], 0)
        try:
            if key in self.synthetic:
                job.blocks, job.pages = self.synthetic[key].blocks, self.synthetic[key].pages
            else:
                pages = pages_from_pdf(data)
                job.blocks, job.pages = analysis_blocks(pages), len(pages)
        except Exception as error:  # Textract fails the job, not the call, for a document it cannot read
            job.status, job.message = "FAILED", f"Unable to read the document: {type(error).__name__}"
        self.jobs[job.job_id] = job
        if token:
            self.tokens[token] = job.job_id
        self.requests.append({**params, "JobId": job.job_id})
        if output := params.get("OutputConfig"):
            self._write_output(caller, job, output, self.synthetic.get(key))
        if channel:
            self._notify(job, params, channel)
        return {"JobId": job.job_id}

    def get(self, params: dict) -> dict:
        job = self.jobs[params["JobId"]]
        return self._page(job, int(params.get("NextToken") or 0), int(params.get("MaxResults") or TEXTRACT_PAGE_SIZE))

    @staticmethod
    def _page(job: TextractJob, start: int, size: int) -> dict:
        response: dict[str, Any] = {"JobStatus": job.status, "DocumentMetadata": {"Pages": job.pages}}
        if job.status != "SUCCEEDED":
            return {**response, "StatusMessage": job.message or "", "Blocks": []}
        response["Blocks"] = job.blocks[start : start + size]
        response["AnalyzeDocumentModelVersion"] = "1.0"
        if start + size < len(job.blocks):
            response["NextToken"] = str(start + size)
        return response

    def _write_output(self, caller: str, job: TextractJob, output: dict, prepared: PreparedResult | None) -> None:
        from moto.s3.models import s3_backends

        s3 = s3_backends[ACCOUNT]["global"]
        bucket, prefix = output["S3Bucket"], output.get("S3Prefix", "").rstrip("/")
        self._require(caller, "s3:PutObject", f"arn:aws:s3:::{bucket}/{prefix}/{job.job_id}/1")
        if prepared and job.status == "SUCCEEDED":
            for part, body in enumerate(prepared.files, start=1):
                s3.put_object(bucket, f"{prefix}/{job.job_id}/{part}", body)
            return
        start, part = 0, 1
        while True:
            page = self._page(job, start, TEXTRACT_PAGE_SIZE)
            s3.put_object(bucket, f"{prefix}/{job.job_id}/{part}", json.dumps(page).encode())
            if "NextToken" not in page:
                break
            start, part = int(page["NextToken"]), part + 1

    def _notify(self, job: TextractJob, params: dict, channel: dict) -> None:
        from moto.sns.models import sns_backends

        location = params["DocumentLocation"]["S3Object"]
        message = {
            "JobId": job.job_id,
            "Status": job.status,
            "API": "StartDocumentAnalysis",
            "JobTag": params.get("JobTag", ""),
            "Timestamp": int(time.time() * 1000),
            "DocumentLocation": {"S3ObjectName": location["Name"], "S3Bucket": location["Bucket"]},
        }
        sns_backends[ACCOUNT][REGION].publish(
            message=json.dumps(message), arn=channel["SNSTopicArn"], subject="Amazon Textract Job Completion"
        )

    @staticmethod
    def _require(caller: str, action: str, resource: str) -> None:
        if not role_permits(caller, action, resource):
            raise AccessDeniedError(f"Textract: the caller may not {action} on {resource}")


# --- models ----------------------------------------------------------------------------------

# What each Bedrock embedding model returns when the request names no size (its documented default).
BEDROCK_EMBEDDING_DIMENSIONS = {
    "amazon.titan-embed-text-v2": 1024,
    "amazon.titan-embed-text-v1": 1536,
    "cohere.embed-english-v3": 1024,
    "cohere.embed-multilingual-v3": 1024,
}


@dataclass
class ModelEndpoints:
    """SageMaker endpoints through moto's runtime, Bedrock's InvokeModel and Converse added to moto's."""

    fake: FakeEndpoint = field(default_factory=FakeEndpoint)
    bedrock_calls: list[dict] = field(default_factory=list)
    # A SageMaker embedding endpoint answers vectors of its model's size: the size the deployment declares
    # for it (RAGLINE_EMBEDDING__DIMENSION beside RAGLINE_EMBEDDING__ENDPOINT_NAME), e.g. 4096 for GPT-J.
    endpoint_dimensions: dict[str, int] = field(default_factory=dict)
    # The request format each endpoint's container understands (read from the templates by the harness); an endpoint
    # the templates do not create is a JumpStart text-embedding model, as in the original pattern.
    endpoint_formats: dict[str, str] = field(default_factory=dict)
    # Set, every SageMaker call fails as a broken model container does (ModelError): an outage a
    # scenario turns on and off. botocore does not retry it; SQS redelivers the message.
    outage: str | None = None

    def install(self, monkeypatch: Any) -> None:
        from moto.bedrockruntime.models import BedrockRuntimeBackend
        from moto.bedrockruntime.responses import BedrockRuntimeResponse
        from moto.core.responses import ActionResult
        from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

        models = self
        endpoints: dict[str, FakeEndpoint] = {}

        def invoke_endpoint(response: SageMakerRuntimeResponse) -> tuple[int, dict, str]:
            # moto's server hands its backend no endpoint name (it is in the path): answer here instead.
            endpoint_name = unquote(re.search(r"/endpoints/([^/]+)/invocations", response.path).group(1))
            body = response.body
            request = json.loads(body.decode() if isinstance(body, bytes) else body)
            dimension = models.endpoint_dimensions.get(endpoint_name, models.fake.dimension)
            fake = endpoints.setdefault(endpoint_name, FakeEndpoint(dimension=dimension))
            models.fake.calls.append({"endpoint": endpoint_name, "request": request})
            refusal = models.outage or models.refusal(endpoint_name, request)
            if refusal:  # what SageMaker reports when the container answers 4xx: a ModelError
                error = {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "Message": refusal}
                return 424, {"Content-Type": "application/json", "x-amzn-ErrorType": "ModelError"}, json.dumps(error)
            answer = json.dumps(fake.answer(endpoint_name, request))
            return 200, {"Content-Type": "application/json", "x-Amzn-Invoked-Production-Variant": "AllTraffic"}, answer

        monkeypatch.setattr(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)

        def invoke_model(backend: BedrockRuntimeBackend, payload: dict, model_id: str) -> dict:
            models.bedrock_calls.append({"model": model_id, "request": payload})
            texts = payload["texts"] if "texts" in payload else [payload["inputText"]]
            dimension = payload.get("dimensions") or BEDROCK_EMBEDDING_DIMENSIONS[model_id.split(":")[0]]
            vectors = FakeEndpoint(dimension=dimension).answer("bedrock", {"inputs": texts, "truncate": False})
            return {"embeddings": vectors, "id": "1"} if "texts" in payload else {"embedding": vectors[0]}

        def converse(response: BedrockRuntimeResponse) -> ActionResult:
            request = json.loads(response.body)
            models.bedrock_calls.append({"model": "converse", "request": request})
            messages = [{"role": "user", "content": request["messages"][-1]["content"][0]["text"]}]
            text = models.fake.answer("converse", {"messages": messages})["choices"][0]["message"]["content"]
            return ActionResult(
                {
                    "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                    "stopReason": "end_turn",
                    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                    "metrics": {"latencyMs": 1},
                }
            )

        def bedrock_resource(response: BedrockRuntimeResponse) -> str:
            match = re.search(r"/model/([^/]+)/", response.path or "")
            return f"arn:aws:bedrock:{REGION}::foundation-model/{unquote(match.group(1))}" if match else "*"

        monkeypatch.setattr(BedrockRuntimeBackend, "invoke_model", invoke_model)
        monkeypatch.setattr(BedrockRuntimeResponse, "converse", converse, raising=False)
        monkeypatch.setattr(BedrockRuntimeResponse, "_determine_resource", bedrock_resource, raising=False)

    def refusal(self, endpoint_name: str, request: dict) -> str | None:
        """Why the endpoint's container would reject this request body, or None when it understands it."""
        if "messages" in request or "parameters" in request:
            return None  # an LLM endpoint (chat or raw prompt): answered by the fake's chat
        expected = self.endpoint_formats.get(endpoint_name, "jumpstart")
        shapes = {
            "tei": lambda body: "inputs" in body and "truncate" in body,
            "hf-sentence-embeddings": lambda body: "inputs" in body and "truncate" not in body,
            "jumpstart": lambda body: "text_inputs" in body,
        }
        if shapes[expected](request):
            return None
        return f"{endpoint_name} runs a {expected} container; it cannot read a body with keys {sorted(request)}"


# --- CloudFormation's custom resource responses ----------------------------------------------


@dataclass(frozen=True)
class CloudFormationResponse:
    """What a custom resource handler PUT to its request's ResponseURL: all CloudFormation learns of it."""

    status: str  # SUCCESS or FAILED
    physical_resource_id: str
    data: dict[str, Any]
    reason: str
    request_id: str


@dataclass
class CloudFormationResponses:
    """The ResponseURLs of custom resource requests: an HTTPS server on loopback keeping each response.

    A real ResponseURL is a presigned S3 URL on port 443, and the CDK's handlers drop any other
    port when they PUT to it; so the URLs handed out name only the host, and `routes` tells a
    function's worker which local port serves "127.0.0.1:443" (see worker.js).
    """

    received: dict[str, CloudFormationResponse] = field(default_factory=dict)  # URL path -> response
    certificate: Path | None = None
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        responses = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = responses.receive(urlsplit(self.path).path, raw)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server, self.certificate = serve_https(Handler, "cloudformation")

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def routes(self) -> dict[str, int]:
        assert self._server
        return {"127.0.0.1:443": self._server.server_address[1]}

    @staticmethod
    def url(stack_id: str, logical_id: str, request_id: str) -> str:
        """A ResponseURL shaped like CloudFormation's: the request named in the path, a signature in the query."""
        key = quote(f"{stack_id}|{logical_id}|{request_id}", safe="")
        return f"https://127.0.0.1/{key}?X-Amz-Expires=7200&X-Amz-Signature={uuid.uuid4().hex}"

    def response_to(self, url: str) -> CloudFormationResponse | None:
        return self.received.get(urlsplit(url).path)

    def receive(self, path: str, raw: bytes) -> int:
        """Keep a response (S3 answers 200 to the presigned PUT); a body that is not a response is refused."""
        try:
            body = json.loads(raw)
            response = CloudFormationResponse(
                status=body["Status"],
                physical_resource_id=body["PhysicalResourceId"],
                data=body.get("Data") or {},
                reason=body.get("Reason") or "",
                request_id=body["RequestId"],
            )
        except (ValueError, KeyError, TypeError):
            return 400
        if response.status not in ("SUCCESS", "FAILED"):
            return 400
        self.received[path] = response
        return 200
