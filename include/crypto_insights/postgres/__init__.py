"""The embedded PostgreSQL server the project starts itself, and the connection settings everything uses."""
