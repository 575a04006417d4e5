"""placeholder until the trace viewer branch lands"""

from fastapi import APIRouter

router = APIRouter(prefix="/ui/trace", include_in_schema=False)
