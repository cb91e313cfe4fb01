"""Index adapters: SQLite (embedded, local) and OpenSearch (AWS)."""
