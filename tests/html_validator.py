"""Validate pages as HTML5 with the W3C Nu checker (vnu-jar from npm, on the machine's Java).

Without Java or the jar, html5lib's strict parser is used instead, as a weaker check.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import html5lib
import pytest

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


@contextmanager
def page_checker(*, require_nu: bool = False) -> Iterator[Callable[[str], list[str]]]:
    """Yield a function that returns one page's validation errors.

    The Nu checker runs once, as a local HTTP service, for everything checked inside the block:
    each page then takes milliseconds, where ``html_errors`` starts Java for every call. With
    ``require_nu``, a machine without Java or the jar skips the caller instead of falling back
    to html5lib, which does not check attribute values such as ``<time datetime>``.
    """
    java = shutil.which("java")
    if not (java and VNU_JAR.is_file()):
        if require_nu:
            pytest.skip("the Nu checker needs Java and node_modules/vnu-jar (make test has both)")
        yield lambda body: _html5lib_errors({"page": body})
        return
    port = _free_port()
    service = subprocess.Popen(
        [java, "-Dnu.validator.servlet.bind-address=127.0.0.1", "-cp", str(VNU_JAR),
         "nu.validator.servlet.Main", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/?out=json"
    try:
        _wait_for(url, service)
        yield lambda body: _service_errors(url, body)
    finally:
        service.terminate()
        service.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, service: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while service.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers (a GET without a document is an error to it)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError("the Nu checker service did not start")


def _service_errors(url: str, body: str) -> list[str]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "text/html; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        report = json.load(response)
    return [
        f"line {message.get('lastLine', '?')}: {message['message']}"
        for message in report["messages"]
        if message.get("type") in {"error", "non-document-error"}
    ]
