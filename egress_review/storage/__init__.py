"""The airlock's database: models, engine and transactions, the audit chain, migrations."""
