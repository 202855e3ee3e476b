"""Status badges: `GET /{owner}/{name}.svg?branch=B`, an SVG saying how the branch's last
finished build went (passing, failing, error, canceled; unknown before any).

Without `branch`, the repository's default branch (or, not knowing it, any branch). Pull
request builds never count. A repository that does not exist or that the caller may not see
gets the unknown badge too, so a badge tells nothing about private repositories. Badges are
revalidated on every view (no-cache, with an ETag), so a README shows the current state.
"""

from __future__ import annotations

import hashlib
from html import escape

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select

from roundhouse.db.models import Build
from roundhouse.platform.api.deps import MaybeUserDep, ServicesDep, find_repository
from roundhouse.protocol import FINISHED_STATES

router = APIRouter()
# Build state → (the badge's word, its colour).
STATUSES = {
    "passed": ("passing", "#44cc11"),
    "failed": ("failing", "#e05d44"),
    "errored": ("error", "#fe7d37"),
    "canceled": ("canceled", "#9f9f9f"),
}
UNKNOWN = ("unknown", "#9f9f9f")
LABEL = "build"


def _width(text: str) -> int:
    """Roughly the width of text in 11 px Verdana, plus padding."""
    return 7 * len(text) + 10


def svg(status: str, color: str) -> str:
    left, right = _width(LABEL), _width(status)
    total = left + right
    word = escape(status)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{LABEL}: {word}"><title>{LABEL}: {word}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        f'font-size="11"><text x="{left / 2}" y="14">{LABEL}</text>'
        f'<text x="{left + right / 2}" y="14">{word}</text></g></svg>'
    )


@router.get("/{owner}/{name}.svg", response_model=None)
async def badge(
    request: Request,
    owner: str,
    name: str,
    svc: ServicesDep,
    user: MaybeUserDep,
    branch: str | None = None,
) -> Response:
    state: str | None = None
    async with svc.ctx.sessions() as session:
        try:
            repo = await find_repository(session, f"{owner}/{name}", user)
        except HTTPException:
            repo = None
        if repo is not None:
            query = select(Build.state).where(
                Build.repository_id == repo.id,
                Build.state.in_(FINISHED_STATES),
                Build.pull_request_number.is_(None),
            )
            wanted = branch or repo.default_branch
            if wanted:
                query = query.where(Build.branch == wanted)
            state = await session.scalar(query.order_by(Build.id.desc()).limit(1))
    status, color = STATUSES.get(state or "", UNKNOWN)
    etag = '"' + hashlib.sha256(f"{status}{color}".encode()).hexdigest()[:16] + '"'
    headers = {"Cache-Control": "no-cache, max-age=0", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(svg(status, color), media_type="image/svg+xml", headers=headers)
