"""moto's asynchronous Textract, completed the way the real service completes a job.

moto starts a document analysis at once, with the blocks set on `TextractBackend.BLOCKS`, but
it neither keeps the job tag nor publishes the completion to the job's SNS topic. This
recorder supplies that: it hands each job the blocks planned for its S3 key (built from the
PDF's real text), records every request, writes the result files of a job that asks for them
(OutputConfig: `<prefix>/<job id>/1, 2, ...`, up to 1,000 blocks each, as Textract does), and
publishes Textract's completion message (JobId, Status, API, JobTag, Timestamp,
DocumentLocation) to the NotificationChannel topic.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from moto.textract.models import TextractBackend, textract_backends
from moto.textract.responses import TextractResponse

RESULT_FILE_BLOCKS = 1000


@dataclass
class PlannedJob:
    blocks: list[dict]
    pages: int
    status: str = "SUCCEEDED"
    message: str | None = None


@dataclass
class TextractRecorder:
    plans: dict[str, PlannedJob] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)

    def plan(self, key: str, blocks: list[dict], pages: int, *, status: str = "SUCCEEDED", message: str | None = None):
        self.plans[key] = PlannedJob(blocks, pages, status, message)

    def install(self, monkeypatch) -> None:
        recorder = self
        original = TextractResponse.start_document_analysis

        def start_document_analysis(response: TextractResponse) -> str:
            params = json.loads(response.body)
            key = params["DocumentLocation"]["S3Object"]["Name"]
            planned = recorder.plans.get(key) or recorder.plans.get("*") or PlannedJob([], 1)
            monkeypatch.setattr(TextractBackend, "BLOCKS", planned.blocks)
            monkeypatch.setattr(TextractBackend, "PAGES", planned.pages)
            monkeypatch.setattr(TextractBackend, "JOB_STATUS", planned.status)
            job_id = json.loads(original(response))["JobId"]
            if planned.message:
                backend = textract_backends[DEFAULT_ACCOUNT_ID][response.region]
                backend.async_document_analysis_jobs[job_id].job["StatusMessage"] = planned.message
            recorder.requests.append({**params, "JobId": job_id})
            if params.get("OutputConfig") and planned.status == "SUCCEEDED":
                recorder._write_output(params["OutputConfig"], job_id, planned)
            recorder._notify(response.region, params, job_id, planned.status)
            return json.dumps({"JobId": job_id})

        monkeypatch.setattr(TextractResponse, "start_document_analysis", start_document_analysis)

    @staticmethod
    def _write_output(output: dict, job_id: str, planned: PlannedJob) -> None:
        import boto3

        s3, prefix = boto3.client("s3"), output.get("S3Prefix", "").rstrip("/")
        blocks = planned.blocks or []
        for part, start in enumerate(range(0, max(len(blocks), 1), RESULT_FILE_BLOCKS), start=1):
            response = {
                "JobStatus": "SUCCEEDED",
                "DocumentMetadata": {"Pages": planned.pages},
                "Blocks": blocks[start : start + RESULT_FILE_BLOCKS],
            }
            s3.put_object(Bucket=output["S3Bucket"], Key=f"{prefix}/{job_id}/{part}", Body=json.dumps(response))

    def _notify(self, region: str, params: dict, job_id: str, status: str) -> None:
        channel = params.get("NotificationChannel")
        if not channel:
            return
        location = params["DocumentLocation"]["S3Object"]
        message = {
            "JobId": job_id,
            "Status": status,
            "API": "StartDocumentAnalysis",
            "JobTag": params.get("JobTag", ""),
            "Timestamp": int(time.time() * 1000),
            "DocumentLocation": {"S3ObjectName": location["Name"], "S3Bucket": location["Bucket"]},
        }
        sns_backends[DEFAULT_ACCOUNT_ID][region].publish(
            message=json.dumps(message), arn=channel["SNSTopicArn"], subject="Amazon Textract Job Completion"
        )
