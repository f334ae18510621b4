"""``/api/docs``: Swagger UI, served from this server's own files under the site's CSP.

The CSP (``default-src 'self'``, middleware.SECURITY_HEADERS) forbids CDNs, inline scripts and
``data:`` images. Swagger UI's files come from the swagger-ui-py package; the page loads them
and a small start script (``static/api-docs.js``) as files; and the images its stylesheet
carries as ``data:`` URLs are served as files of their own, from a copy of the stylesheet
that points at them (built once, on first use).
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS = "/api/docs/assets"
PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>wtp-oauth API</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""
# url(data:…) and url("data:…") in a stylesheet; a quoted one may hold escaped quotes.
_DATA_URL = re.compile(
    r'url\((?:"data:(?P<qtype>[^;,"]+)(?P<qparams>[^,"]*),(?P<qdata>(?:[^"\\]|\\.)*)"'
    r"|data:(?P<type>[^;,)]+)(?P<params>[^,)]*),(?P<data>[^)]*))\)"
)
_CSS_ESCAPE = re.compile(r"\\(.)")
_SUFFIXES = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}


def swagger_ui_dir() -> Path:
    """Swagger UI's files in the swagger-ui-py package, found without importing it (which
    would load its adapters for other web frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (a dependency of wtp-oauth)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@dataclass(frozen=True, slots=True)
class Stylesheet:
    css: bytes
    images: dict[str, tuple[bytes, str]]  # file name: (content, media type)


@functools.cache
def stylesheet() -> Stylesheet:
    """Swagger UI's stylesheet with each ``data:`` image replaced by a URL of this server."""
    images: dict[str, tuple[bytes, str]] = {}

    def to_file(match: re.Match[str]) -> str:
        quoted = match.group("qtype") is not None
        media_type = match.group("qtype" if quoted else "type")
        params = match.group("qparams" if quoted else "params")
        data = match.group("qdata" if quoted else "data")
        if quoted:
            data = _CSS_ESCAPE.sub(r"\1", data)
        content = base64.b64decode(data) if ";base64" in params else unquote(data).encode()
        name = f"image-{len(images)}.{_SUFFIXES.get(media_type, 'bin')}"
        images[name] = (content, media_type)
        return f'url("images/{name}")'

    text = (swagger_ui_dir() / "swagger-ui.css").read_text(encoding="utf-8")
    return Stylesheet(_DATA_URL.sub(to_file, text).encode(), images)


@router.get("/api/docs")
async def api_docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/api/docs/swagger-ui.css")
async def api_docs_css() -> Response:
    return Response(stylesheet().css, media_type="text/css")


@router.get("/api/docs/images/{name}")
async def api_docs_image(name: str) -> Response:
    image = stylesheet().images.get(name)
    if image is None:
        return Response(status_code=404)
    return Response(image[0], media_type=image[1])
