"""Validate pages as HTML5 with the W3C Nu checker (vnu-jar from npm, on the machine's Java).

Without Java or the jar, html5lib's strict parser is used instead, as a weaker check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import html5lib

VNU_JAR = Path(__file__).resolve().parent.parent / "node_modules/vnu-jar/build/dist/vnu.jar"


def html_errors(documents: dict[str, str], workdir: Path) -> list[str]:
    """Return every validation error in ``documents`` (name → HTML), as 'name: message'."""
    java = shutil.which("java")
    if java and VNU_JAR.is_file():
        return _vnu_errors(java, documents, workdir)
    return _html5lib_errors(documents)


def _vnu_errors(java: str, documents: dict[str, str], workdir: Path) -> list[str]:
    paths = {}
    for index, (name, body) in enumerate(documents.items()):
        path = workdir / f"page{index}.html"
        path.write_text(body, encoding="utf-8")
        paths[path.as_uri()] = name
    completed = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, _files(paths))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(completed.stderr or completed.stdout or '{"messages": []}')
    return [
        f"{paths.get(message.get('url', ''), message.get('url'))}: {message['message']}"
        for message in report["messages"]
        if message.get("type") == "error"
    ]


def _files(paths: dict[str, str]) -> list[str]:
    return [uri.removeprefix("file://") for uri in paths]


def _html5lib_errors(documents: dict[str, str]) -> list[str]:
    errors = []
    for name, body in documents.items():
        parser = html5lib.HTMLParser(strict=True)
        try:
            parser.parse(body)
        except html5lib.html5parser.ParseError as error:
            errors.append(f"{name}: {error}")
    return errors
