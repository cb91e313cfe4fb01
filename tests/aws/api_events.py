"""API Gateway REST API (proxy integration) events, in the shape Lambda receives them."""

from __future__ import annotations

import json
from typing import Any


def api_event(
    body: Any,
    *,
    content_type: str | None = "application/json",
    method: str = "POST",
    path: str = "/query",
    caller: dict | None = None,
) -> dict:
    """`caller`: what API Gateway adds to the request context for an authenticated caller
    (`cognito_caller`, `iam_caller`); without it, the identity of an unauthenticated request."""
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "User-Agent": "curl/8.5.0"}
    if content_type:
        headers["Content-Type"] = content_type
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": path,
            "httpMethod": method,
            "extendedRequestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "22/Nov/2026:05:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1795300000000,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0", "caller": None, "user": None},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
            **_caller_context(caller),
        },
        "body": raw,
        "isBase64Encoded": False,
    }


def cognito_caller(sub: str, email: str = "user@example.com") -> dict:
    """A Cognito user pool authorizer's request context: the ID token's claims, as strings."""
    return {"authorizer": {"claims": {"sub": sub, "email": email, "token_use": "id", "cognito:username": sub}}}


def iam_caller(user_arn: str, caller: str = "AIDAEXAMPLEUSERID0001") -> dict:
    """An IAM (SigV4) request's identity: the signer's ARN and id."""
    account = user_arn.split(":")[4]
    return {"identity": {"userArn": user_arn, "caller": caller, "user": caller, "accountId": account}}


def _caller_context(caller: dict | None) -> dict:
    if not caller:
        return {}
    identity = {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0", "caller": None, "user": None}
    return {**caller, "identity": {**identity, **caller.get("identity", {})}}


def sqs_event(messages: list[dict], queue_arn: str, region: str = "us-east-1") -> dict:
    """The event Lambda's SQS poller builds from received messages (ReceiveMessage's shape)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }
