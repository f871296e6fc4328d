"""The web app: server-rendered pages over the same services as the REST API (M19)."""
