"""Scenarios over each synthesized profile, driven only through the wiring the templates declare.

Each scenario starts where a user or CloudFormation starts (a custom resource request, an object
put in the ingest bucket, an HTTP request to the API, an object delete) and checks what a user
would see at the end of the chain. The last test prints, for every profile, every function with
what drove it and the outcome, and fails when a function was never driven.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import statistics
from pathlib import Path

import pytest

from tests.deployed import large_document
from tests.deployed.conftest import DEPLOYMENTS
from tests.deployed.glue_scenario import glue_job, mirror_archive, run_glue_job, trigger_arguments
from tests.deployed.harness import Deployment
from tests.deployed.services import PreparedResult

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "demo" / "corpus" / "riverbend-water-operations-runbook.pdf"
SONGBIRDS = REPO / "demo" / "corpus" / "songbird-field-guide.pdf"
NORTHWIND = REPO / "demo" / "corpus" / "northwind-cycles-annual-report-2025.pdf"  # in no scenario but one
SONGBIRD_QUESTION = "Which organ lets songbirds learn their songs?"
QUESTION = "What is the low-pressure alarm threshold at the Hillcrest pump station?"
KEY = "manuals/riverbend runbook.pdf"  # a space: S3 and EventBridge encode keys; the runtime must not trip


def archive_records(deployment: Deployment, prefix: str) -> list[dict]:
    s3 = deployment.cloud.client("s3")
    bucket = deployment.output("ArchiveBucketName")
    records = []
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        text = gzip.decompress(body).decode() if body[:2] == b"\x1f\x8b" else body.decode()
        records += [json.loads(line) for line in text.splitlines() if line.strip()]
    return records


def embedded_texts(deployment: Deployment) -> list[str]:
    """Every text sent to an embedding model (SageMaker or Bedrock), in order."""
    texts = []
    for call in deployment.models.fake.calls + deployment.models.bedrock_calls:
        request = call["request"]
        for field in ("inputs", "text_inputs", "texts"):
            texts += request.get(field) or []
        if "inputText" in request:
            texts.append(request["inputText"])
    return texts


def hidden_versions(deployment: Deployment) -> set[str]:
    """Versions the registry's ledger still hides from searches (being written, or being removed)."""
    from ragline.adapters.aws.dynamodb_registry import VERSIONS_KEY

    table = deployment.output("RegistryTableName")
    item = deployment.cloud.client("dynamodb").get_item(TableName=table, Key={"source": {"S": VERSIONS_KEY}})
    found = item.get("Item", {})
    return set(found.get("staged", {}).get("SS", [])) | set(found.get("retired", {}).get("SS", []))


def indexed_chunks(deployment: Deployment) -> list[dict]:
    return [doc for index in deployment.search.engine.indices.values() for doc in index.docs.values()]


@pytest.mark.creates_custom_resources
def test_the_index_custom_resource_creates_the_chunk_index(deployment: Deployment):
    with deployment.cloud.enforcing():
        created = deployment.custom_resource("Custom::RaglineSearchIndex", "Create")
        assert created.status == "SUCCESS", created.reason
        updated = deployment.custom_resource("Custom::RaglineSearchIndex", "Update")
    assert updated.status == "SUCCESS", updated.reason
    name = created.physical_resource_id
    assert updated.physical_resource_id == name
    assert created.data["Outcome"] == "created" and updated.data["Outcome"] == "updated"
    vector = deployment.search.engine.indices[name].mappings["properties"]["vector"]
    assert vector["type"] == "knn_vector" and vector["dimension"] > 0


@pytest.mark.creates_custom_resources
def test_the_role_mapping_custom_resource_maps_every_function_role(deployment: Deployment):
    with deployment.cloud.enforcing():
        mapped = deployment.custom_resource("Custom::RaglineSearchRoleMapping", "Create")
    assert mapped.status == "SUCCESS", mapped.reason
    backend_roles = {role for mapping in deployment.search.role_mappings.values() for role in mapping}
    function_roles = {
        deployment.cloud.resolve(f.resource, f.resource.properties["Role"])
        for f in deployment.functions.values()
        if f.handler.split(".")[0] in ("ingest_start", "index_document", "delete_document", "query")
    }
    assert function_roles <= backend_roles


def test_the_default_security_group_is_stripped_of_its_rules(deployment: Deployment):
    [vpc] = deployment.assembly.resources("AWS::EC2::VPC")
    group_id = deployment.cloud.resolve(vpc, {"Fn::GetAtt": [vpc.logical_id, "DefaultSecurityGroup"]})
    ec2 = deployment.cloud.client("ec2")

    def default_group() -> dict:
        return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]

    assert default_group()["IpPermissions"] and default_group()["IpPermissionsEgress"]  # as AWS creates it
    with deployment.cloud.enforcing():
        stripped = deployment.custom_resource("Custom::VpcRestrictDefaultSG", "Create")
    assert stripped.status == "SUCCESS", stripped.reason
    assert default_group()["IpPermissions"] == [] and default_group()["IpPermissionsEgress"] == []


def test_a_pdf_put_in_the_ingest_bucket_is_indexed_with_its_pages_and_archived(deployment: Deployment):
    s3 = deployment.cloud.client("s3")
    with deployment.cloud.enforcing():
        s3.put_object(Bucket=deployment.output("IngestBucketName"), Key=KEY, Body=RUNBOOK.read_bytes())
        handled = deployment.deliver()
    for invocation in handled:
        invocation.result  # noqa: B018
    drivers = {(i.function.rsplit("/", 1)[1], i.trigger) for i in handled}
    assert any("IngestStart" in name for name, _ in drivers), drivers
    assert any("IndexDocument" in name for name, _ in drivers), problems(handled)
    assert set(deployment.textract.requests[-1]["FeatureTypes"]) == {"TABLES", "LAYOUT"}
    chunks = indexed_chunks(deployment)
    assert chunks, "no chunk reached the index"
    assert {chunk["source"] for chunk in chunks} == {f"s3://{deployment.output('IngestBucketName')}/{KEY}"}
    assert {chunk["page_start"] for chunk in chunks} >= {1, 2}
    records = archive_records(deployment, "embeddingarchive/")
    assert len(records) == len(chunks)
    assert {record["id"] for record in records} == {chunk["chunk_id"] for chunk in chunks}
    assert {record["kind"] for record in records} == {"chunk"} and all(record["model"] for record in records)
    assert sum(i.metrics().get("DocumentsIndexed", 0) for i in handled) == 1
    # Told its model's vector size, the function spends no endpoint call finding it out.
    assert "dimension probe" not in embedded_texts(deployment)


def test_an_object_that_is_not_a_pdf_drives_no_function(deployment: Deployment):
    s3 = deployment.cloud.client("s3")
    with deployment.cloud.enforcing():
        s3.put_object(Bucket=deployment.output("IngestBucketName"), Key="notes/readme.txt", Body=b"not a pdf")
        assert deployment.deliver() == []


def test_search_query_and_documents_answer_through_the_api(deployment: Deployment):
    with deployment.cloud.enforcing():
        search = deployment.api("POST", "/search", {"question": QUESTION, "k": 3})
        query = deployment.api("POST", "/query", {"question": QUESTION, "k": 3})
        documents = deployment.api("GET", "/documents")
        refused = deployment.api("POST", "/query", {"question": ""})
    assert search["statusCode"] == 200, search["body"]
    assert query["statusCode"] == 200, query["body"]
    assert {source["source"] for source in search["json"]["sources"]} == {
        f"s3://{deployment.output('IngestBucketName')}/{KEY}"
    }
    assert query["json"]["answer"] and query["json"]["sources"][0]["page"] >= 1
    assert documents["statusCode"] == 200, documents["body"]
    [document] = documents["json"]["documents"]
    assert document["state"] == "indexed" and document["chunks"] > 0
    assert refused["statusCode"] == 400 and "question" in refused["json"]["error"]
    # The document card, read by the first window from Textract's pages, is kept by the registry and by
    # every chunk: sources carry it and the card filters select on it.
    card = document["card"]
    assert card and card["title"] and card["doc_type"], document
    assert all(source["card"] == card for source in search["json"]["sources"]), search["json"]["sources"]
    other_type = "10-K" if card["doc_type"] != "10-K" else "paper"
    with deployment.cloud.enforcing():
        same = deployment.api("POST", "/search", {"question": QUESTION, "filter": {"doc_type": card["doc_type"]}})
        other = deployment.api("POST", "/search", {"question": QUESTION, "filter": {"doc_type": other_type}})
    assert same["statusCode"] == 200 and same["json"]["sources"], same["body"]
    assert other["statusCode"] == 200 and other["json"]["sources"] == [], other["body"]
    assert "dimension probe" not in embedded_texts(deployment)
    prompts = archive_records(deployment, "promptarchive/")
    assert len(prompts) >= 2 and all(record["kind"] == "prompt" for record in prompts)
    # Drift compares prompts with chunks of the same model: both functions must name it alike.
    chunks = archive_records(deployment, "embeddingarchive/")
    assert {record["model"] for record in prompts} == {record["model"] for record in chunks}


def rewrite_prompts(deployment: Deployment) -> list[str]:
    """The follow-ups' rewrite prompts sent to the generation model (SageMaker or Bedrock), in order."""
    prompts = []
    for call in deployment.models.fake.calls:  # SageMaker's requests, and Bedrock Converse's as its double reads them
        messages = call["request"].get("messages") or []
        text = messages[-1]["content"] if messages else str(call["request"].get("inputs", ""))  # chat, or TGI
        if "<follow_up>" in text:
            prompts.append(text)
    return prompts


def test_a_conversation_of_two_turns_is_kept_for_its_caller_through_the_api(deployment: Deployment):
    """POST /query with a session, as the deployed query function runs it: its environment names the table, its
    role's grants (Query, PutItem) suffice, the generation model rewrites the follow-up, and the turns are kept
    under the caller the API's authorizer gives (IAM or Cognito, by profile), so another user's same id is new."""
    follow_up = "And what happens below it?"
    table = deployment.function("query").environment["RAGLINE_CONVERSATION__TABLE"]
    before = len(rewrite_prompts(deployment))
    with deployment.cloud.enforcing():
        first = deployment.api("POST", "/query", {"question": QUESTION, "session": "chat-1"}, caller="alice")
        second = deployment.api("POST", "/query", {"question": follow_up, "session": "chat-1"}, caller="alice")
        other = deployment.api("POST", "/query", {"question": follow_up, "session": "chat-1"}, caller="bob")
    for response in (first, second, other):
        assert response["statusCode"] == 200, response["body"]
    assert (first["json"]["session"], first["json"]["standalone_question"]) == ("chat-1", QUESTION)
    # Alice's follow-up: the model was sent her first turn, fenced, and retrieval embedded what it rewrote.
    [prompt] = rewrite_prompts(deployment)[before:]
    assert f"<question>{QUESTION}</question>" in prompt and f"<follow_up>{follow_up}</follow_up>" in prompt
    rewritten = second["json"]["standalone_question"]
    assert second["json"]["question"] == follow_up and rewritten != follow_up
    assert rewritten in embedded_texts(deployment)
    # Bob's request with the same id had no history: nothing to rewrite, asked as typed.
    assert other["json"]["standalone_question"] == follow_up
    items = deployment.cloud.client("dynamodb").scan(TableName=table)["Items"]
    owners = [item["conversation"]["S"].rsplit("#", 1)[0] for item in items]
    assert sorted(owners.count(owner) for owner in set(owners)) == [1, 2], owners  # Alice's two turns, Bob's one
    assert all(item["conversation"]["S"].endswith("#chat-1") and int(item["expires_at"]["N"]) > 0 for item in items)


def watched_metrics(deployment: Deployment) -> set[tuple[str, str, tuple]]:
    """(namespace, metric, dimensions) of every metric an alarm of the templates watches."""
    watched = set()
    for alarm in deployment.assembly.resources("AWS::CloudWatch::Alarm"):
        props = deployment.cloud.resolve(alarm, alarm.properties)
        stats = [query["MetricStat"]["Metric"] for query in props.get("Metrics", []) if "MetricStat" in query]
        if "MetricName" in props:
            stats.append(props)
        for metric in stats:
            dimensions = tuple(sorted((d["Name"], str(d["Value"])) for d in metric.get("Dimensions", [])))
            watched.add((metric["Namespace"], metric["MetricName"], dimensions))
    return watched


def dashboard_similarity(deployment: Deployment) -> tuple[str, tuple]:
    """The namespace and dimensions of the similarity metric the RAG_Scores dashboard plots."""
    [dashboard] = deployment.assembly.resources("AWS::CloudWatch::Dashboard")
    body = json.loads(deployment.cloud.resolve(dashboard, dashboard.properties["DashboardBody"]))
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if len(line) > 2 and line[1] == "similarity":
                names, values = line[2:-1:2], line[3:-1:2]
                return line[0], tuple(sorted(zip(names, values, strict=True)))
    raise AssertionError("the dashboard plots no similarity metric")


def test_a_failed_document_is_counted_where_its_alarm_looks(deployment: Deployment):
    s3 = deployment.cloud.client("s3")
    with deployment.cloud.enforcing():
        s3.put_object(Bucket=deployment.output("IngestBucketName"), Key="broken/scan.pdf", Body=b"%PDF-1.7\n%garbage")
        handled = deployment.deliver()
    failed = [m for i in handled for m in i.emitted() if m.name == "DocumentsFailed"]
    assert [m.value for m in failed] == [1.0], [i.logs[-3:] for i in handled]
    assert {(m.namespace, m.name, m.dimensions) for m in failed} <= watched_metrics(deployment)
    with deployment.cloud.enforcing():
        documents = deployment.api("GET", "/documents")["json"]["documents"]
    [broken] = [d for d in documents if d["source"].endswith("broken/scan.pdf")]
    assert broken["state"] == "failed" and broken["reason"]


def test_each_question_scores_on_the_dashboard_metric(deployment: Deployment):
    with deployment.cloud.enforcing():
        answered = deployment.api("POST", "/search", {"question": QUESTION, "k": 2})
    assert answered["statusCode"] == 200
    [invocation] = [i for i in deployment.invocations if i.trigger == "API POST /search"][-1:]
    namespace, dimensions = dashboard_similarity(deployment)
    scores = [m for m in invocation.emitted() if m.name == "similarity"]
    assert scores and {(m.namespace, m.dimensions) for m in scores} == {(namespace, dimensions)}


def test_the_drift_glue_jobs_run_on_the_archive_this_deployment_wrote(deployment: Deployment, tmp_path):
    """BASELINE then SNAPSHOT of the chunk embeddings and of the prompts, then prompt distances (default profile)."""
    with deployment.cloud.enforcing():
        for number in range(12):  # enough prompts for a prompt baseline
            deployment.api("POST", "/search", {"question": f"{QUESTION} ({number})", "k": 1})
    archive = deployment.output("ArchiveBucketName")
    mirror_archive(deployment, archive, tmp_path)
    drift, distance = (
        glue_job(deployment, "embedding-drift-analysis"),
        glue_job(deployment, "embedding-distance-analysis"),
    )
    prompt_schedule = trigger_arguments(deployment, "prompt")
    runs = [
        (drift, {"--job_type": "BASELINE"}),  # started by hand once, as docs/DEPLOY.md says
        (drift, {}),  # the daily schedule: SNAPSHOT of the chunks
        (drift, {**prompt_schedule, "--job_type": "BASELINE"}),
        (drift, prompt_schedule),  # the prompt schedule: SNAPSHOT of the prompts
        (distance, {}),
    ]
    with deployment.cloud.enforcing():
        for job, overrides in runs:
            finished = run_glue_job(deployment, job, overrides, tmp_path)
            assert finished.returncode == 0, f"{overrides}\n{finished.stdout[-2000:]}\n{finished.stderr[-3000:]}"
    dynamodb = deployment.cloud.client("dynamodb")
    resolved = deployment.cloud.resolve(drift, drift.properties["DefaultArguments"])
    document_runs = dynamodb.scan(TableName=resolved["--out_table"])["Items"]
    assert {item["job_type"]["S"] for item in document_runs} >= {"BASELINE", "SNAPSHOT"}
    assert dynamodb.scan(TableName=resolved["--centroid_table"])["Count"] >= 2
    prompt_runs = dynamodb.scan(TableName=prompt_schedule["--out_table"])["Items"]
    assert {item["job_type"]["S"] for item in prompt_runs} >= {"BASELINE", "SNAPSHOT"}
    distance_table = deployment.cloud.resolve(distance, distance.properties["DefaultArguments"])["--out_table"]
    assert dynamodb.scan(TableName=distance_table)["Count"] == 1
    baselines = deployment.cloud.client("s3").list_objects_v2(Bucket=archive, Prefix="driftbaseline/")
    assert len(baselines.get("Contents", [])) >= 2


def test_a_broken_overwrite_keeps_the_indexed_version_searchable_and_says_so(deployment: Deployment):
    s3 = deployment.cloud.client("s3")
    bucket = deployment.output("IngestBucketName")
    before = len(indexed_chunks(deployment))
    with deployment.cloud.enforcing():
        s3.put_object(Bucket=bucket, Key=KEY, Body=b"<html>not a PDF at all</html>")
        handled = deployment.deliver()
        documents = deployment.api("GET", "/documents")["json"]["documents"]
        # The good version back, for what follows: the same bytes as before the broken one, a new upload.
        s3.put_object(Bucket=bucket, Key=KEY, Body=RUNBOOK.read_bytes())
        restored = deployment.deliver()
        after = deployment.api("GET", "/documents")["json"]["documents"]
    assert [i.function.rsplit("/", 1)[1] for i in handled if "IngestStart" in i.function]
    [entry] = [d for d in documents if d["source"].endswith(KEY)]
    assert entry["state"] == "failed" and f"{before} chunks of this source remain searchable" in entry["reason"]
    # Its own upload: Textract reads it again (a new job, not the first upload's) and it is indexed once more.
    assert sum(i.metrics().get("ExtractionsStarted", 0) for i in restored) == 1
    [entry] = [d for d in after if d["source"].endswith(KEY)]
    assert entry["state"] == "indexed" and entry["chunks"] == before
    assert len(indexed_chunks(deployment)) == before
    assert hidden_versions(deployment) == set()


def test_a_pdf_deleted_while_textract_reads_it_is_not_brought_back(deployment: Deployment):
    s3 = deployment.cloud.client("s3")
    bucket, key = deployment.output("IngestBucketName"), "drafts/withdrawn.pdf"
    with deployment.cloud.enforcing():
        # Content no other source holds (a copy of indexed content would be recorded, not read by Textract).
        s3.put_object(Bucket=bucket, Key=key, Body=NORTHWIND.read_bytes())
        started = deployment.deliver(only="ingest_start")  # Textract now holds a job for it
        s3.delete_object(Bucket=bucket, Key=key)
        deleted = deployment.deliver(only="delete_document")  # the delete is handled first ...
        handled = deployment.deliver()  # ... then Textract's completion arrives
    assert sum(i.metrics().get("ExtractionsStarted", 0) for i in started) == 1
    assert deleted and all(invocation.ok for invocation in started + deleted + handled)
    assert not [chunk for chunk in indexed_chunks(deployment) if chunk["source"].endswith(key)]
    assert sum(i.metrics().get("VersionsDropped", 0) for i in handled) == 1
    assert hidden_versions(deployment) == set()


def test_deleting_the_object_removes_its_chunks_and_its_entry(deployment: Deployment):
    s3 = deployment.cloud.client("s3")
    with deployment.cloud.enforcing():
        s3.delete_object(Bucket=deployment.output("IngestBucketName"), Key=KEY)
        handled = deployment.deliver()
        documents = deployment.api("GET", "/documents")
    for invocation in handled:
        invocation.result  # noqa: B018
    assert any("DeleteDocument" in invocation.function for invocation in handled)
    assert indexed_chunks(deployment) == []
    assert [d for d in documents["json"]["documents"] if d["source"].endswith(KEY)] == []


# --- large documents, in page windows (default profile: the window logic is the same in every one) ----


def synthetic_pdf(deployment: Deployment, key: str, pages: int, version: str) -> str:
    """Put an object that Textract reads as `pages` pages of a synthetic filing; return its content hash."""
    deployment.textract.synthetic[key] = PreparedResult.of(large_document.pages(pages, version))
    body = f"%PDF-1.7\n% ragline synthetic filing: {pages} pages, version {version}\n".encode()
    deployment.cloud.client("s3").put_object(Bucket=deployment.output("IngestBucketName"), Key=key, Body=body)
    return hashlib.sha256(body).hexdigest()


def source_chunks(deployment: Deployment, key: str) -> list[dict]:
    return [chunk for chunk in indexed_chunks(deployment) if chunk["source"].endswith(f"/{key}")]


def facts_in(chunks: list[dict]) -> set[tuple[int, int]]:
    text = " ".join(chunk["text"] for chunk in chunks)
    return {(int(page), int(paragraph)) for page, paragraph in re.findall(r"fact (\d+)-(\d)", text)}


def every_fact(pages: int) -> set[tuple[int, int]]:
    return {
        (page, paragraph) for page in range(1, pages + 1) for paragraph in range(large_document.PARAGRAPHS_PER_PAGE)
    }


def searched_versions(deployment: Deployment, key: str, question: str) -> set[str]:
    """The versions (content hashes) of `key` that a keyword search finds."""
    body = {"question": question, "k": 10, "mode": "keyword", "filter": {"source": Path(key).name}}
    answered = deployment.api("POST", "/search", body)
    assert answered["statusCode"] == 200, answered["body"]
    return {source["chunk_id"].split(":")[0] for source in answered["json"]["sources"]}


PROBLEM_FIELDS = ("level", "message", "source", "reason", "exception")


def problems(handled: list) -> list[str]:
    """The warnings and errors the functions logged, each by its message and reason (the fields that say what
    went wrong, which a cut-off log line loses): what an assertion shows when a chain broke."""
    found = []
    for invocation in handled:
        for line in invocation.logs:
            if '"level":"WARNING"' not in line and '"level":"ERROR"' not in line:
                continue
            record = json.loads(line)
            said = {name: record[name] for name in PROBLEM_FIELDS if name in record}
            found.append(f"{invocation.function}: {said}")
    return found


def window_runs(handled: list) -> list:
    """The runs of page windows (the completion's run only queues the first one)."""
    return [invocation for invocation in handled if "windowqueue" in invocation.trigger]


WINDOW_PAGES = 100  # ragline.config.WindowSettings.pages: the stacks leave the default
SMALL_FILING = 250  # three windows


@pytest.mark.one_profile
@pytest.mark.heavy
def test_a_3000_page_filing_is_indexed_in_windows_every_chunk_exactly_once(deployment: Deployment):
    key, pages = "filings/annual-report-3000.pdf", 3000
    with deployment.cloud.enforcing():
        version = synthetic_pdf(deployment, key, pages, "gamma")
        handled = deployment.deliver()
    windows = window_runs(handled)
    for invocation in windows:
        invocation.result  # noqa: B018
    assert len(windows) == pages // WINDOW_PAGES, problems(handled)
    chunks = source_chunks(deployment, key)
    # Exactly once: positions 0..n-1, each once, all of this version; every page's every paragraph present.
    assert sorted(chunk["position"] for chunk in chunks) == list(range(len(chunks)))
    assert {chunk["document_id"] for chunk in chunks} == {version}
    assert facts_in(chunks) == every_fact(pages)
    assert {page for chunk in chunks for page in chunk["pages"]} == set(range(1, pages + 1))
    assert hidden_versions(deployment) == set()
    # Lambda's REPORT line, for each window: peak memory of the environment and the duration.
    [function] = {invocation.function for invocation in windows}
    configured = deployment.functions[function].resource.properties
    peak_mb = max(invocation.usage["peak_rss_mb"] for invocation in windows)
    slowest_s = max(invocation.usage["seconds"] for invocation in windows)
    figures = {
        "pages": pages,
        "window_pages": WINDOW_PAGES,
        "windows": len(windows),
        "chunks": len(chunks),
        "peak_rss_mb": round(peak_mb),
        "slowest_window_s": round(slowest_s, 1),
        "median_window_s": round(statistics.median(i.usage["seconds"] for i in windows), 1),
        "memory_mb": configured["MemorySize"],
        "timeout_s": configured["Timeout"],
    }
    record_figures("large-document", figures)
    # The margins docs/SCALE.md states: half the memory, a tenth of the timeout.
    assert peak_mb <= configured["MemorySize"] / 2, figures
    assert slowest_s <= configured["Timeout"] / 10, figures
    with deployment.cloud.enforcing():
        deployment.cloud.client("s3").delete_object(Bucket=deployment.output("IngestBucketName"), Key=key)
        deployment.deliver()
    assert source_chunks(deployment, key) == []


@pytest.mark.one_profile
def test_readers_see_the_old_version_until_the_new_one_is_whole_and_a_late_version_is_dropped(
    deployment: Deployment,
):
    key = "filings/restated.pdf"
    with deployment.cloud.enforcing():
        alpha = synthetic_pdf(deployment, key, SMALL_FILING, "alpha")
        deployment.deliver()
        beta = synthetic_pdf(deployment, key, SMALL_FILING, "beta")
        deployment.deliver(only="ingest_start")
        deployment.deliver(only="index_document", rounds=2)  # beta's first windows are written ...
        assert {chunk["document_id"] for chunk in source_chunks(deployment, key)} == {alpha, beta}
        # ... and hidden: readers still get alpha, whole, whatever they ask.
        assert searched_versions(deployment, key, "beta report fact 7-2") == {alpha}
        assert searched_versions(deployment, key, "alpha report fact 7-2") == {alpha}
        delta = synthetic_pdf(deployment, key, SMALL_FILING, "delta")  # overwritten again, beta still in flight
        embedded_before = len(embedded_texts(deployment))
        handled = deployment.deliver()
        # beta's next window found its version superseded: it stopped there, embedding nothing more.
        assert not [text for text in embedded_texts(deployment)[embedded_before:] if "beta report" in text]
        assert searched_versions(deployment, key, "delta report fact 7-2") == {delta}
        documents = deployment.api("GET", "/documents")["json"]["documents"]
    assert all(invocation.ok for invocation in handled)
    assert sum(i.metrics().get("VersionsDropped", 0) for i in handled) == 1  # beta's next window
    chunks = source_chunks(deployment, key)
    assert {chunk["document_id"] for chunk in chunks} == {delta}  # alpha retired, beta's window removed
    assert sorted(chunk["position"] for chunk in chunks) == list(range(len(chunks)))
    assert facts_in(chunks) == every_fact(SMALL_FILING)
    [entry] = [d for d in documents if d["source"].endswith(f"/{key}")]
    assert entry["state"] == "indexed" and entry["chunks"] == len(chunks)
    assert hidden_versions(deployment) == set()


@pytest.mark.one_profile
def test_a_window_out_of_retries_fails_the_new_version_and_keeps_the_old_one_served(deployment: Deployment):
    key = "filings/restated.pdf"  # delta is served (the scenario above)
    served = {chunk["document_id"] for chunk in source_chunks(deployment, key)}
    with deployment.cloud.enforcing():
        synthetic_pdf(deployment, key, SMALL_FILING, "zeta")
        deployment.deliver(only="ingest_start")
        deployment.deliver(only="index_document", rounds=2)
        deployment.models.outage = "the model container keeps failing"  # down for longer than SQS retries
        try:
            handled = deployment.deliver()
        finally:
            deployment.models.outage = None
        still = searched_versions(deployment, key, "zeta report fact 150-1")
        documents = deployment.api("GET", "/documents")["json"]["documents"]
    assert sum(i.metrics().get("DocumentsFailed", 0) for i in handled) == 1
    assert {chunk["document_id"] for chunk in source_chunks(deployment, key)} == served == still
    [entry] = [d for d in documents if d["source"].endswith(f"/{key}")]
    assert entry["state"] == "failed" and "gave up after 3 attempts" in entry["reason"], entry
    assert hidden_versions(deployment) == set()


@pytest.mark.one_profile
def test_a_delete_wins_over_windows_in_flight(deployment: Deployment):
    key = "filings/withdrawn-annual.pdf"
    bucket = deployment.output("IngestBucketName")
    with deployment.cloud.enforcing():
        epsilon = synthetic_pdf(deployment, key, SMALL_FILING, "epsilon")
        deployment.deliver(only="ingest_start")
        deployment.deliver(only="index_document", rounds=2)  # one window written, hidden
        assert searched_versions(deployment, key, "epsilon report fact 3-1") == set()
        deployment.cloud.client("s3").delete_object(Bucket=bucket, Key=key)
        deployment.deliver(only="delete_document")
        embedded_before = len(embedded_texts(deployment))
        handled = deployment.deliver()  # the next window finds its version gone ...
        assert embedded_texts(deployment)[embedded_before:] == []  # ... and stops: no more work for it
        documents = deployment.api("GET", "/documents")["json"]["documents"]
    assert all(invocation.ok for invocation in handled)
    assert sum(i.metrics().get("VersionsDropped", 0) for i in handled) == 1
    assert not [chunk for chunk in indexed_chunks(deployment) if chunk["document_id"] == epsilon]
    assert not [d for d in documents if d["source"].endswith(f"/{key}")]
    assert hidden_versions(deployment) == set()


@pytest.mark.one_profile
def test_copies_a_source_turned_copy_drops_its_old_text_and_a_deleted_holder_hands_its_chunks_over(
    deployment: Deployment,
):
    s3, bucket = deployment.cloud.client("s3"), deployment.output("IngestBucketName")
    first, second, third = "copies/first.pdf", "copies/second.pdf", "copies/third.pdf"
    songbirds = SONGBIRDS.read_bytes()
    with deployment.cloud.enforcing():
        s3.put_object(Bucket=bucket, Key=first, Body=RUNBOOK.read_bytes())
        s3.put_object(Bucket=bucket, Key=second, Body=songbirds)
        deployment.deliver()
        assert sources_found(deployment, QUESTION, "first.pdf")  # the runbook, under its first name
        s3.put_object(Bucket=bucket, Key=first, Body=songbirds)  # now a copy of the second
        s3.put_object(Bucket=bucket, Key=third, Body=songbirds)  # and another copy
        changed = deployment.deliver()
        # The runbook's text is no longer served under the first name: not by keyword, not at all.
        assert sources_found(deployment, QUESTION, "first.pdf") == set()
        assert source_chunks(deployment, first) == []
        s3.delete_object(Bucket=bucket, Key=second)  # the copy that held the chunks
        deleted = deployment.deliver()
        found = sources_found(deployment, SONGBIRD_QUESTION)
        documents = {d["source"].rsplit("/", 1)[1]: d for d in deployment.api("GET", "/documents")["json"]["documents"]}
    assert all(invocation.ok for invocation in changed + deleted)
    # The content stays retrievable, through the first remaining copy, which now holds it.
    assert found == {f"s3://{bucket}/{first}"}
    assert documents["first.pdf"]["state"] == "indexed" and documents["first.pdf"]["chunks"] > 0
    assert documents["third.pdf"]["state"] == "duplicate" and "first.pdf" in documents["third.pdf"]["reason"]
    assert "second.pdf" not in documents
    for key in (first, third):
        s3.delete_object(Bucket=bucket, Key=key)
    with deployment.cloud.enforcing():
        deployment.deliver()
    assert source_chunks(deployment, first) == source_chunks(deployment, third) == []


def sources_found(deployment: Deployment, question: str, name: str | None = None) -> set[str]:
    """The sources a keyword search returns (within the file `name`, when given)."""
    body: dict = {"question": question, "k": 10, "mode": "keyword"}
    if name:
        body["filter"] = {"source": name}
    answered = deployment.api("POST", "/search", body)
    assert answered["statusCode"] == 200, answered["body"]
    return {source["source"] for source in answered["json"]["sources"]}


def record_figures(name: str, figures: dict) -> None:
    """Keep a scenario's measurements with the run (build/deployed/<name>.json) and show them."""
    folder = REPO / "build" / "deployed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{name}: {figures}")


@pytest.mark.report
def test_every_function_of_every_template_was_driven(capsys: pytest.CaptureFixture):
    assert DEPLOYMENTS, "no profile was deployed"
    lines, undriven = [], []
    for deployment in DEPLOYMENTS:
        lines.append(f"\n== {deployment.profile}")
        for function, handler, triggers, outcome in deployment.table():
            lines.append(f"  {function:<70} {handler:<40} {outcome:<28} {triggers}")
            if outcome.startswith("NOT DRIVEN"):
                undriven.append(f"{deployment.profile}: {function}")
    with capsys.disabled():
        print("\n".join(["", "Deployed-shape suite: every Lambda function of every profile", *lines]))
    assert not undriven, f"functions no scenario drove: {undriven}"


@pytest.mark.report
def test_every_python_function_ran_on_its_runtimes_python():
    """The workers run on a CPython of the runtime's version (stacks.lambda_python), so the staged assets,
    their compiled extensions and their bytecode are exercised as they deploy."""
    ran, mismatched = 0, []
    for deployment in DEPLOYMENTS:
        for invocation in deployment.invocations:
            runtime = deployment.functions[invocation.function].runtime
            if not runtime.startswith("python") or "python" not in invocation.usage:
                continue
            ran += 1
            if f"python{invocation.usage['python']}" != runtime:
                mismatched.append(f"{invocation.function}: {runtime} ran on {invocation.usage['python']}")
    assert ran, "no Python function was invoked"
    assert not mismatched, mismatched
