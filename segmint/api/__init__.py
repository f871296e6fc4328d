"""The REST API and the server that also serves the web app (M19).

``create_app(Settings(workspace=...))`` builds the FastAPI app; ``segmint serve`` runs it.
"""

from segmint.api.app import create_app, first_admin_token
from segmint.api.state import AppState, Settings

__all__ = ["AppState", "Settings", "create_app", "first_admin_token"]
