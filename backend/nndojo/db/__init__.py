"""The SQL database: one schema for jobs, events, metrics and the classroom, versioned by Alembic migrations."""
