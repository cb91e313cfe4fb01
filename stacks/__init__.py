"""ragline on AWS: Python CDK stacks and their components (see docs/DEPLOY.md)."""
