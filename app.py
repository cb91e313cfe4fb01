#!/usr/bin/env python3
"""CDK entry point for `npx cdk synth` / `npx cdk deploy --all`; `stacks/app.py` builds the stacks.

`make synth` synthesizes the five profiles into cdk.out/<profile>. How to deploy, the context
parameters and what is verified how: docs/DEPLOY.md.
"""

import aws_cdk as cdk

from stacks.app import build_app

app = cdk.App()
build_app(app)
app.synth()
