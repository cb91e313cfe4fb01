#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy --all` (see docs/DEPLOY.md)."""

import aws_cdk as cdk

from stacks.app import build_app

app = cdk.App()
build_app(app)
app.synth()
