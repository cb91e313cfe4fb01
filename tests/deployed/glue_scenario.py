"""The drift Glue jobs of the default profile, run from their staged scripts against the archive the run wrote.

Each job runs as Glue would start it: its staged script and `--extra-py-files` zip from cdk.out,
its template `DefaultArguments` (and, for the prompt schedule, the trigger's own arguments),
the job role's credentials, boto3 pointed at the mock account. Local Spark stands in for Glue
5.0's (same Spark 3.5, same Python 3.11). One substitution is made and said plainly: Spark here
has no S3 connector (the hadoop-aws jars come from Maven, which this machine cannot reach), so
the paths Spark itself reads or writes (`--data_path`, `--prompt_path`, `--distance_path`) are
rewritten to a local mirror of the same bucket. Everything the job writes through boto3 (the
run and centroid tables, the baseline object, CloudWatch metrics) goes to the mock account
under the job role's own policies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.deployed.harness import Deployment
from tests.deployed.template import REGION, Resource
from tests.spark_jvm import java_tool_options

SPARK_READ_OR_WRITTEN = ("--data_path", "--prompt_path", "--distance_path")


def glue_job(deployment: Deployment, name: str) -> Resource:
    [job] = [j for j in deployment.assembly.resources("AWS::Glue::Job") if j.properties.get("Name") == name]
    return job


def trigger_arguments(deployment: Deployment, kind: str) -> dict[str, str]:
    """The arguments of the scheduled trigger that runs the drift job on `kind` records (they override
    the job's defaults)."""
    for trigger in deployment.assembly.resources("AWS::Glue::Trigger"):
        for action in deployment.cloud.resolve(trigger, trigger.properties["Actions"]):
            if action.get("Arguments", {}).get("--kind") == kind:
                return action["Arguments"]
    raise AssertionError(f"no trigger runs the drift job with --kind {kind}")


def staged_asset(deployment: Deployment, s3_uri: str) -> Path:
    """The cdk.out file behind an asset's S3 location (its object key is the staged file's name)."""
    staged = deployment.assembly.folder / f"asset.{s3_uri.rsplit('/', 1)[1]}"
    assert staged.is_file(), f"{s3_uri} is not staged in {deployment.assembly.folder}"
    return staged


def mirror_archive(deployment: Deployment, bucket: str, folder: Path) -> None:
    """Copy the archive bucket's objects into `folder/<bucket>/...` (what Spark reads instead of S3)."""
    s3 = deployment.cloud.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            target = folder / bucket / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())


def run_glue_job(
    deployment: Deployment, job: Resource, overrides: dict[str, str], mirror: Path
) -> subprocess.CompletedProcess:
    props = job.properties
    arguments = {**deployment.cloud.resolve(job, props["DefaultArguments"]), **overrides}
    script = staged_asset(deployment, deployment.cloud.resolve(job, props["Command"]["ScriptLocation"]))
    package = staged_asset(deployment, arguments.pop("--extra-py-files"))
    for name in SPARK_READ_OR_WRITTEN:
        if name in arguments:
            arguments[name] = "file://" + str(mirror / arguments[name].removeprefix("s3://"))
    credentials = deployment.cloud.assume(deployment.cloud.resolve(job, props["Role"]), props.get("Name", "glue"))
    glue_only = ("--job-language", "--enable-continuous-cloudwatch-log", "--enable-metrics",
                 "--enable-observability-metrics")  # fmt: skip
    argv = [item for name, value in arguments.items() if name not in glue_only for item in (name, value)]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "JAVA_HOME": os.environ.get("JAVA_HOME", ""),
        "JAVA_TOOL_OPTIONS": java_tool_options(),  # how fast the JVM runs, not what the job computes
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYTHONPATH": str(package),  # --extra-py-files: the staged ragline.zip, ahead of anything installed
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": deployment.cloud.endpoint,
        **credentials.environment(),
    }
    return subprocess.run(
        [sys.executable, str(script), "--JOB_NAME", props.get("Name", job.logical_id), *argv],
        env={name: value for name, value in env.items() if value},
        capture_output=True,
        text=True,
        timeout=600,
    )
