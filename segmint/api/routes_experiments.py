"""REST endpoints for experiments (measure stage), under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
