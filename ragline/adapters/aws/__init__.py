"""AWS adapters for the ports in `ragline.ports`, and the Lambda handlers that use them.

Nothing here builds an AWS client at import time: every adapter takes its boto3 (or
opensearch-py) client in `__init__`, and `ragline.adapters.aws.factories` builds them from `Settings`
when the composition root (`ragline.bootstrap`) first asks for an adapter.
"""
