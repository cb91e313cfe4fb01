"""ragline on AWS: Python CDK stacks and their components (see README.md, "Deploy to AWS")."""
