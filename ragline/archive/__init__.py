"""Archive sinks for embedding records: JSON Lines files locally, Firehose on AWS."""
