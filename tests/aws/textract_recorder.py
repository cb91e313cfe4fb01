"""moto's asynchronous Textract, completed the way the real service completes a job.

moto starts a document analysis at once, with the blocks set on `TextractBackend.BLOCKS`, but
it neither keeps the job tag nor publishes the completion to the job's SNS topic. This
recorder supplies that: it hands each job the blocks planned for its S3 key (built from the
PDF's real text), records every request, and publishes Textract's completion message
(JobId, Status, API, JobTag, Timestamp, DocumentLocation) to the NotificationChannel topic.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from moto.textract.models import TextractBackend, textract_backends
from moto.textract.responses import TextractResponse


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
            recorder._notify(response.region, params, job_id, planned.status)
            return json.dumps({"JobId": job_id})

        monkeypatch.setattr(TextractResponse, "start_document_analysis", start_document_analysis)

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
