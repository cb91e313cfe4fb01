"""Powertools Lambda handlers: thin entry points that parse an event, call one service, report.

- `ingest_start` (SQS of S3 "Object Created" events, routed by an EventBridge rule): hash the
  object, skip content already indexed, start Textract document analysis.
- `index_document` (SQS of Textract completions, SNS envelope or raw): read the whole result,
  chunk, embed, index, archive.
- `delete_document` (SQS of S3 "Object Deleted" events, routed by an EventBridge rule): remove
  the source's chunks and registry entry.
- `query` (API Gateway REST proxy: `POST /query`, `GET /documents`): validate, retrieve,
  generate, cite, record metrics, archive the prompt embedding.
- `index_bootstrap` (CloudFormation custom resource through a CDK Provider, or a direct
  invoke): create the index or add new fields to its mapping.

Queue consumers acknowledge a permanent failure (recorded, counted as `DocumentsFailed`) and
leave a transient one to SQS's retries and redrive policy (`runtime`). Each module exposes
`lambda_handler`. Settings come from `RAGLINE_*` environment variables
(`ragline.config.Settings`); the engine is built on the first invocation, not at import.
"""
