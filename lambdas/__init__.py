"""Thin Lambda entry points, one folder per function (see README.md, "Deploy to AWS", "Runtime contract").

Each folder is deployed as its own asset together with the `ragline/` package; the shared
dependencies (lambdas/requirements.txt) come from one Lambda layer.
"""
