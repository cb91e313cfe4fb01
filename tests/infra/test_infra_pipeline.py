"""Ingestion, archive, drift jobs and monitoring of the synthesized app (default profile)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_cdk.assertions import Match

REPO_ROOT = Path(__file__).resolve().parents[2]

# Set for ingest_start, which the runtime's Settings do not read.


def _read_by_settings(name: str) -> bool:
    """True when `ragline.config.Settings` has the field this RAGLINE_<SECTION>__<FIELD> variable sets."""
    from ragline.config import Settings

    section, _, field = name.removeprefix("RAGLINE_").lower().partition("__")
    model = Settings.model_fields.get(section)
    return bool(field) and model is not None and field in model.annotation.model_fields


def _functions(synthesized):
    return {
        logical_id: resource
        for logical_id, (_, resource) in synthesized.resources("AWS::Lambda::Function").items()
        if resource["Properties"].get("Runtime", "").startswith("python")
    }


def test_every_dlq_has_an_alarm_that_notifies(synthesized):
    template = synthesized.template("service")
    resources = template["Resources"]
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in resources.values()
        if q["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in q["Properties"]
    }
    assert len(dlqs) == 4  # ingest, Textract completion, page window, delete
    alarmed = set()
    for alarm in (r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"):
        props = alarm["Properties"]
        if props.get("MetricName") == "ApproximateNumberOfMessagesVisible" and props.get("AlarmActions"):
            for dimension in props["Dimensions"]:
                alarmed.add(dimension["Value"]["Fn::GetAtt"][0])
    assert dlqs <= alarmed, f"DLQs without an alarm: {dlqs - alarmed}"


def test_ingestion_runs_async_textract_through_sns_and_sqs(synthesized):
    service = synthesized.assertions("service")
    for detail_type in ("Object Created", "Object Deleted"):
        service.has_resource_properties(
            "AWS::Events::Rule",
            {"EventPattern": Match.object_like({"source": ["aws.s3"], "detail-type": [detail_type]})},
        )
    service.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "sqs"})
    service.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "textract.amazonaws.com"}})]}
            )
        },
    )
    # index_document consumes the completion queue and the page-window queue, both with capped
    # concurrency (the embedding endpoint's back-pressure); ingest_start's is capped for Textract's
    # start quota; delete_document's is not (it calls no quota-bound API).
    mappings = synthesized.resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 4
    caps = {
        re.search(r"(\w+Queue)", json.dumps(m["Properties"]["EventSourceArn"])).group(1): m["Properties"]
        .get("ScalingConfig", {})
        .get("MaximumConcurrency")
        for _, (_, m) in mappings.items()
    }
    assert {queue.removeprefix("Ingestion"): cap for queue, cap in caps.items()} == {
        "IngestQueue": 2,
        "TextractCompletionQueue": 4,
        "WindowQueue": 4,
        "DeleteQueue": None,
    }, caps
    for _, (_, mapping) in mappings.items():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # A page window must fit in one run: the index function may run 15 minutes and its queues
    # hide a message for 6x that.
    functions = _functions(synthesized)
    index_fn = next(f for f in functions.values() if f["Properties"]["Handler"].startswith("index_document."))
    assert index_fn["Properties"]["Timeout"] == 900
    queues = [q for _, (_, q) in synthesized.resources("AWS::SQS::Queue").items() if "RedrivePolicy" in q["Properties"]]
    assert sorted(q["Properties"]["VisibilityTimeout"] for q in queues) == [360, 720, 5400, 5400]


def test_lambdas_are_traced_in_the_vpc_and_point_at_existing_handlers(synthesized):
    functions = _functions(synthesized)
    assert {f["Properties"]["Handler"].split(".")[0] for f in functions.values()} == {
        "ingest_start",
        "index_document",
        "delete_document",
        "query",
        "index_bootstrap",
    }
    for logical_id, function in functions.items():
        props = function["Properties"]
        handler_dir = props["Handler"].split(".")[0]
        assert (REPO_ROOT / "lambdas" / handler_dir / "handler.py").is_file(), logical_id
        assert props["Runtime"] == "python3.14"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["VpcConfig"]["SubnetIds"], logical_id
        assert props["Layers"], logical_id
        environment = set(props.get("Environment", {}).get("Variables", {}))
        unread = {name for name in environment if not _read_by_settings(name)}
        assert not unread, f"{logical_id} sets variables ragline.config.Settings does not read: {unread}"


def test_query_lambda_gets_the_runtime_contract(synthesized):
    functions = _functions(synthesized)
    query = next(f for f in functions.values() if f["Properties"]["Handler"].startswith("query."))
    env = query["Properties"]["Environment"]["Variables"]
    assert env["RAGLINE_INDEX__BACKEND"] == "opensearch"
    assert env["RAGLINE_EMBEDDING__BACKEND"] == "sagemaker"
    assert env["RAGLINE_EMBEDDING__ENDPOINT_NAME"] == "ragline-embedding"
    assert "RAGLINE_EMBEDDING__DIMENSION" not in env  # it embeds questions, never indexes
    assert env["RAGLINE_GENERATION__BACKEND"] == "bedrock"
    assert env["RAGLINE_GENERATION__MODEL_ID"].startswith("anthropic.")
    assert env["RAGLINE_ARCHIVE__BACKEND"] == "firehose"
    assert env["RAGLINE_METRICS__BACKEND"] == "emf"
    for name in ("RAGLINE_ARCHIVE__PROMPT_STREAM", "RAGLINE_INDEX__REGISTRY_TABLE"):
        assert env[name]


def test_index_mapping_is_created_by_a_custom_resource_with_explicit_vector_settings(synthesized):
    synthesized.assertions("data").has_resource_properties(
        "Custom::RaglineSearchIndex",
        {
            "IndexName": "ragline-chunks",
            "Dimension": "384",
            "Engine": "lucene",
            "SpaceType": "cosinesimil",
            "M": "16",
            "EfConstruction": "128",
        },
    )
    synthesized.assertions("service").resource_count_is("Custom::RaglineSearchRoleMapping", 1)


def test_embedding_model_is_serverless_when_the_app_deploys_it(synthesized):
    models = synthesized.assertions("models")
    models.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}})
            ]
        },
    )
    models.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "ragline-embedding"})
    models.resource_count_is("AWS::SageMaker::Endpoint", 1)  # the LLM is on Bedrock by default


def test_glue_jobs_carry_the_documented_arguments(synthesized):
    jobs = {
        job["Properties"]["Name"]: job["Properties"] for _, (_, job) in synthesized.resources("AWS::Glue::Job").items()
    }
    assert set(jobs) == {"embedding-drift-analysis", "embedding-distance-analysis"}
    for job in jobs.values():
        assert job["GlueVersion"] == "5.0"
        assert job["Command"]["Name"] == "glueetl"
        assert job["Command"]["PythonVersion"] == "3"
        assert job["SecurityConfiguration"]
    drift = jobs["embedding-drift-analysis"]["DefaultArguments"]
    assert {"--job_type", "--out_table", "--centroid_table", "--data_path", "--baseline_path"} <= set(drift)
    assert drift["--kind"] == "chunk"
    assert "--extra-py-files" in jobs["embedding-drift-analysis"]["DefaultArguments"]
    assert drift["--job_type"] == "SNAPSHOT"
    assert "embeddingarchive/" in json.dumps(drift["--data_path"])
    distance = jobs["embedding-distance-analysis"]["DefaultArguments"]
    assert {"--job_type", "--out_table", "--centroid_table", "--prompt_path", "--distance_path"} <= set(distance)
    assert distance["--job_type"] == "DISTANCE"
    assert "promptarchive/" in json.dumps(distance["--prompt_path"])
    assert "promptdistance/" in json.dumps(distance["--distance_path"])
    triggers = [t["Properties"] for _, (_, t) in synthesized.resources("AWS::Glue::Trigger").items()]
    assert len(triggers) == 3
    assert all(t["Type"] == "SCHEDULED" and t["StartOnCreation"] for t in triggers)
    prompt_runs = [t for t in triggers if "promptarchive/" in json.dumps(t["Actions"])]
    assert prompt_runs and set(prompt_runs[0]["Actions"][0]["Arguments"]) == {
        "--job_type",
        "--kind",
        "--out_table",
        "--centroid_table",
        "--data_path",
        "--baseline_path",
    }
    # The prompt runs must select prompt records: the job's default kind (chunk) finds none there.
    assert prompt_runs[0]["Actions"][0]["Arguments"]["--kind"] == "prompt"
    # Prompts get their own baseline; the distance job measures against the documents' baseline.
    assert "driftbaseline/prompts" in json.dumps(prompt_runs[0]["Actions"])
    assert json.dumps(distance["--baseline_path"]) == json.dumps(drift["--baseline_path"])


def _dashboard_body(resource) -> str:
    body = resource["Properties"]["DashboardBody"]
    if isinstance(body, str):
        return body
    return "".join(part if isinstance(part, str) else "<token>" for part in body["Fn::Join"][1])


def test_dashboard_rag_scores_shows_similarity_average_and_count(synthesized):
    (dashboard,) = [d for _, (_, d) in synthesized.resources("AWS::CloudWatch::Dashboard").items()]
    assert dashboard["Properties"]["DashboardName"] == "RAG_Scores"
    body = json.loads(_dashboard_body(dashboard).replace("<token>", "x"))
    metrics = [m for widget in body["widgets"] for m in widget["properties"].get("metrics", [])]
    similarity = [m for m in metrics if m[:2] == ["rag", "similarity"]]
    # CloudWatch's default statistic is Average: the rendered body omits it.
    stats = {(m[-1].get("stat") if isinstance(m[-1], dict) else None) or "Average" for m in similarity}
    assert {"Average", "SampleCount"} <= stats
    titles = {widget["properties"].get("title") for widget in body["widgets"]}
    assert {"Ingestion", "Errors", "Latency", "Drift"} <= titles


def test_alarms_cover_errors_and_drift_and_go_to_one_topic(synthesized):
    alarms = synthesized.resources("AWS::CloudWatch::Alarm")
    watched = set()
    for _, (_, alarm) in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"]
        for metric in [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]:
            if "MetricName" in metric:
                watched.add((metric["Namespace"], metric["MetricName"]))
    assert {
        ("rag", "drift_detected"),
        ("rag", "centroid_shift"),
        ("rag", "prompt_outlier_rate"),
        ("rag", "DocumentsFailed"),
        ("AWS/Lambda", "Errors"),
        ("AWS/ApiGateway", "5XXError"),
    } <= watched
    actions = {json.dumps(a["Properties"]["AlarmActions"]) for _, (_, a) in alarms.items()}
    assert len(actions) == 1


def test_archive_bucket_keeps_the_three_prefixes_with_lifecycle_rules(synthesized):
    data = synthesized.assertions("data")
    for prefix in ("embeddingarchive/", "promptarchive/", "promptdistance/"):
        data.has_resource_properties(
            "AWS::S3::Bucket",
            {"LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"Prefix": prefix})])}},
        )
    # The registry, the conversations and five drift tables; nothing provisioned that the runtime does not use.
    data.resource_count_is("AWS::DynamoDB::Table", 7)


def test_the_query_function_times_out_before_the_api_integration(synthesized):
    """A cold start must not turn into a gateway 504: the function gives up first, with its own error."""
    functions = _functions(synthesized)
    query = next(f for f in functions.values() if f["Properties"]["Handler"].startswith("query."))
    function_timeout_ms = query["Properties"]["Timeout"] * 1000
    integrations = [
        method["Properties"]["Integration"]
        for _, (_, method) in synthesized.resources("AWS::ApiGateway::Method").items()
        if method["Properties"]["Integration"].get("Type") == "AWS_PROXY"
    ]
    assert len(integrations) == 3  # POST /query, POST /search, GET /documents
    for integration in integrations:
        # Absent, API Gateway applies its 29 s default; the app states it explicitly.
        assert function_timeout_ms < integration["TimeoutInMillis"] <= 29_000


def test_failed_glue_job_runs_notify_the_alarm_topic(synthesized):
    resources = synthesized.template("service")["Resources"]
    jobs = {logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::Glue::Job"}
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    (rule,) = [r for r in rules if r["EventPattern"].get("source") == ["aws.glue"]]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Glue Job State Change"]
    assert set(pattern["detail"]["state"]) == {"FAILED", "TIMEOUT", "ERROR"}
    assert {ref["Ref"] for ref in pattern["detail"]["jobName"]} == jobs
    # The same topic the CloudWatch alarms notify, which lets EventBridge publish to it.
    alarm_topics = {
        json.dumps(r["Properties"]["AlarmActions"]) for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    (target,) = rule["Targets"]
    assert alarm_topics == {json.dumps([target["Arn"]])}
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert any(
        target["Arn"] in policy["Topics"]
        and any(
            statement.get("Principal") == {"Service": "events.amazonaws.com"}
            for statement in policy["PolicyDocument"]["Statement"]
        )
        for policy in policies
    )
