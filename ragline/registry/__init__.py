"""Document registry adapters: SQLite locally, DynamoDB on AWS."""
