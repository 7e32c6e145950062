"""The offline Coinbase-compatible exchange: same paths, status codes and JSON as the real public REST API."""
