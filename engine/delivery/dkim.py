"""Sign outgoing messages with DKIM (RFC 6376, RFC 8463): relaxed/relaxed, once per message.

dkimpy's ``dkim.sign`` parses the PEM key and runs two regular expressions over the whole body
on every call (6-7 ms for a 36 KB newsletter). This signer keeps the parsed key for the
process, hashes the body in place (rewriting only the runs of spaces that relaxing folds),
canonicalizes each distinct header field once (a campaign's From, Subject and list fields are
the same for every recipient), and leaves the RSA or Ed25519 operation to ``cryptography``.
The tests check what it writes with dkimpy's ``dkim.verify`` and its canonicalization with
dkimpy's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache, partial
from itertools import islice
from pathlib import Path
from queue import SimpleQueue

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.mime import build_mime
from engine.delivery.system import sender_domain
from engine.dkim_keys import DkimKey, load_key

#: Signed when present. RFC 8058 requires both unsubscribe headers to be signed.
SIGNED_FIELDS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"list-id",
    b"feedback-id",
)
#: Listed once more than they occur, or once when absent (RFC 6376, 5.4.2: a missing field is
#: signed as empty): a relay that adds any of them, a second List-Unsubscribe on top or a
#: Reply-To, breaks the signature.
GUARDED = (*SIGNED_FIELDS, b"reply-to", b"cc", b"sender", b"in-reply-to", b"references")
#: Messages built and signed ahead of the one being sent.
LOOKAHEAD = 4
_FOLD = b"\r\n\t"
#: Characters on a line of the signature field, its folding tab and space included.
_LINE = 76
#: Base64 characters of ``b=`` per line: 72 after the tab and ``b=`` or the tab and a space.
_B64_LINE = 72
_WSP = re.compile(rb"[ \t]+")
_SPACE_RUN = re.compile(rb"  +")
#: A space before another space or a line end: the body is not already relaxed.
_LOOSE_SPACE = re.compile(rb" [ \r]")
#: A line break that folds a header field (the next line starts with a space or a tab).
_FOLDING = re.compile(rb"\r\n(?=[ \t])")
_SPACE = ord(" ")
#: Header lines kept in their canonical form; the cache starts over when it holds this many.
_CACHED_LINES = 1024


class DkimSigner:
    """Sign messages with one key, selector and domain."""

    __slots__ = ("_ed25519", "_lines", "_rsa", "_tags", "domain", "key", "selector")

    def __init__(self, key: DkimKey, selector: str, domain: str) -> None:
        self.key = key
        self.selector = selector
        self.domain = domain
        private = key.private
        self._rsa = private if isinstance(private, rsa.RSAPrivateKey) else None
        self._ed25519 = private if isinstance(private, ed25519.Ed25519PrivateKey) else None
        self._tags = b"".join(
            (
                f"v=1; a={key.algorithm}; c=relaxed/relaxed;".encode("ascii"),
                _FOLD + f"d={domain}; s={selector};".encode("ascii"),
            )
        )
        #: Header line as written → (lowercased name, relaxed "name:value" line).
        self._lines: dict[bytes, tuple[bytes, bytes]] = {}

    def sign(
        self, raw: bytes, *, timestamp: int | None = None, relaxed_body: bool = False
    ) -> bytes:
        """Return ``raw`` (RFC 5322, CRLF line ends) with a ``DKIM-Signature`` field on top.

        ``relaxed_body`` vouches that no space in the body comes before another space or a
        line end, as in ``build_mime``'s bodies: the body is then hashed without looking for
        runs of spaces to fold (a tab, which relaxing turns into a space, is still looked
        for). Raises ``ValueError`` for a message without a blank line after its header.
        """
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            raise ValueError("the message has no blank line after its header")
        body_hash = base64.b64encode(relaxed_body_hash(raw, end + 4, relaxed=relaxed_body))
        fields = self._canonical_fields(raw[: end + 2])
        names = _signed_names(tuple(fields))
        stamp = int(time.time()) if timestamp is None else timestamp
        before, between, after, relaxed_before, relaxed_between, relaxed_after = _tag_parts(
            self._tags, names
        )
        data = b"%s%s%d%s%s%s" % (
            _selected(fields, names),
            relaxed_before,
            stamp,
            relaxed_between,
            body_hash,
            relaxed_after,
        )
        signature = base64.b64encode(self._signature(data))
        chunks = [signature[i : i + _B64_LINE] for i in range(0, len(signature), _B64_LINE)]
        return b"".join(
            (
                b"DKIM-Signature: %s%d%s%s%s" % (before, stamp, between, body_hash, after),
                (_FOLD + b" ").join(chunks),
                b"\r\n",
                raw,
            )
        )

    def _canonical_fields(self, head: bytes) -> dict[bytes, list[bytes]]:
        """Map each lowercased field name of ``head`` to its relaxed lines, top to bottom."""
        if b"\r\n " in head or b"\r\n\t" in head:
            head = _FOLDING.sub(b"", head)  # relaxed unfolding, before the lines are split
        lines = head.split(b"\r\n")
        lines.pop()  # ``head`` ends with CRLF
        cache = self._lines
        fields: dict[bytes, list[bytes]] = {}
        for line in lines:
            known = cache.get(line)
            if known is None:
                known = _canonical_line(line)
                if len(cache) >= _CACHED_LINES:
                    cache.clear()
                cache[line] = known
            name, canonical = known
            same = fields.get(name)
            if same is None:
                fields[name] = [canonical]
            else:
                same.append(canonical)
        return fields

    def _signature(self, data: bytes) -> bytes:
        if self._rsa is not None:
            return self._rsa.sign(data, _PKCS1, _SHA256)
        assert self._ed25519 is not None
        # RFC 8463: Ed25519 signs the SHA-256 hash of the header data, not the data itself.
        return self._ed25519.sign(hashlib.sha256(data).digest())


_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class RawMessages:
    """The bytes of a batch's messages, built and DKIM-signed when a signer is configured.

    With a signer, each message is built here a few messages ahead of the one being sent and
    signed in a thread of its own. The RSA operation and the hash of the body run without the
    GIL, and they are nearly all a signature costs: what little holds the GIL (the header
    fields, the signature field) is done in short steps, and the thread is handed its work and
    hands back signed messages through C queues, so the sending thread seldom waits for it.
    That hides the signing in a core that would otherwise idle; where there is none, the
    0.26 ms of an RSA signature is paid in full (docs/performance.md, "DKIM signing").
    """

    def __init__(self, signer: DkimSigner | None) -> None:
        self.signer = signer
        self._thread: _SigningThread | None = None

    def for_batch(self, messages: Sequence[OutgoingMessage]) -> Iterator[Callable[[], bytes]]:
        """Yield, in order, one function per message returning its bytes (``ValueError``)."""
        if self.signer is None:
            return (partial(build_mime, message) for message in messages)
        if self._thread is None:
            self._thread = _SigningThread(self.signer)
        return self._thread.sign_ahead(messages)

    def close(self) -> None:
        """Stop the signing thread, dropping messages signed ahead that were not asked for."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()


class _Batch:
    """One batch's way back from the signing thread: its signed messages, in order."""

    __slots__ = ("cancelled", "done")

    def __init__(self) -> None:
        self.done: SimpleQueue[bytes | ValueError] = SimpleQueue()
        self.cancelled = False


class _SigningThread:
    """One thread signing built messages in the order they are handed over."""

    def __init__(self, signer: DkimSigner) -> None:
        self._work: SimpleQueue[tuple[bytes, _Batch] | None] = SimpleQueue()
        self._thread = threading.Thread(
            target=_sign_in_turn, args=(signer, self._work), name="dkim-signer", daemon=True
        )
        self._thread.start()
        # A backend dropped without ``close()`` ends its thread too.
        weakref.finalize(self, self._work.put, None)

    def sign_ahead(self, messages: Sequence[OutgoingMessage]) -> Iterator[Callable[[], bytes]]:
        """Build each message here and sign it in the thread, ``LOOKAHEAD`` messages ahead."""
        batch = _Batch()
        upcoming = iter(messages)
        # ``None`` for a message handed to the thread, else why it could not be built.
        pending: deque[ValueError | None] = deque()

        def hand_over(message: OutgoingMessage) -> None:
            try:
                raw = build_mime(message)
            except Exception as error:  # any build error fails this message alone
                pending.append(ValueError(str(error)))
            else:
                pending.append(None)
                self._work.put((raw, batch))

        for message in islice(upcoming, LOOKAHEAD):
            hand_over(message)
        try:
            while pending:
                refused = pending.popleft()
                for message in islice(upcoming, 1):
                    hand_over(message)
                yield partial(_unwrap, batch.done.get() if refused is None else refused)
        finally:
            batch.cancelled = True

    def stop(self) -> None:
        """Let the thread end after the message it is signing, and wait for it."""
        self._work.put(None)
        self._thread.join()


def _sign_in_turn(signer: DkimSigner, work: SimpleQueue[tuple[bytes, _Batch] | None]) -> None:
    """Sign each message handed over (built by ``build_mime``) until ``None`` comes."""
    while (item := work.get()) is not None:
        raw, batch = item
        if batch.cancelled:
            continue
        # Whatever goes wrong signing one message fails that message alone (as ``ValueError``,
        # which the backend reports per message), never the rest of the batch.
        try:
            batch.done.put(signer.sign(raw, relaxed_body=True))
        except Exception as error:
            batch.done.put(ValueError(f"the message could not be signed: {error}"))


def _unwrap(outcome: bytes | ValueError) -> bytes:
    if isinstance(outcome, ValueError):
        raise outcome
    return outcome


def relaxed_body_hash(raw: bytes, start: int, *, relaxed: bool = False) -> bytes:
    """Return the SHA-256 digest of ``raw[start:]`` in the "relaxed" canonical form.

    The body is hashed in place, span by span: only the few places that relaxing changes (a
    run of spaces such as a text part's hanging indent, a tab, a space before a line end) are
    rewritten, so a 35 KB newsletter is neither copied nor rewritten by a regular expression.
    With ``relaxed``, the caller vouches that no space comes before another space or a line
    end, and the body is hashed as it stands, without looking for one.
    """
    end = len(raw)
    while end > start and raw.endswith(b"\r\n", start, end):
        end -= 2
    last_line = raw.rfind(b"\r\n", start, end)
    last_line = last_line + 2 if last_line >= 0 else start
    if raw.find(b"\t", start) >= 0 or not raw[last_line:end].strip(b" "):
        # A tab (our bodies seldom have one), an empty body, or a last line of spaces only,
        # which relaxing turns into one more trailing empty line: the plain way handles these.
        return hashlib.sha256(relaxed_body(raw[start:])).digest()
    view = memoryview(raw)
    # One byte past the end, so that a space before the final line end is found too.
    limit = min(end + 1, len(raw))
    found = None if relaxed else _LOOSE_SPACE.search(raw, start, limit)
    if found is None:
        # Already relaxed: hash it as it stands. Above 2 KB, hashlib lets go of the GIL.
        digest = hashlib.sha256(view[start:end])
        digest.update(b"\r\n")
        return digest.digest()
    digest = hashlib.sha256()
    position = start
    while found is not None:
        run_start = run_end = found.start()
        while run_end < end and raw[run_end] == _SPACE:
            run_end += 1
        digest.update(view[position:run_start])
        if not raw.startswith(b"\r\n", run_end):
            digest.update(b" ")
        position = run_end
        found = _LOOSE_SPACE.search(raw, position, limit)
    digest.update(view[position:end])
    digest.update(b"\r\n")
    return digest.digest()


def relaxed_body(body: bytes) -> bytes:
    """Return ``body`` (CRLF line ends) in the "relaxed" canonical form of RFC 6376, 3.4.4."""
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    # Only runs of spaces: a pattern that also matched single ones would cost 15 times more.
    body = _SPACE_RUN.sub(b" ", body).replace(b" \r\n", b"\r\n")
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    return body[:end] + b"\r\n" if end else b""


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """Return the configured signer, or ``None`` when DKIM signing is not configured."""
    if not settings.DKIM_SELECTOR:
        return None
    return _signer(settings.DKIM_SELECTOR, settings.DKIM_PRIVATE_KEY_PATH, signing_domain(settings))


def signing_domain(settings: Settings) -> str:
    """Return the ``d=`` domain: ``DKIM_DOMAIN``, else the domain of ``SENDER_ADDRESS``."""
    return settings.DKIM_DOMAIN or sender_domain(settings.SENDER_ADDRESS)


@lru_cache(maxsize=4)
def _signer(selector: str, key_path: str, domain: str) -> DkimSigner:
    # Once per process: a new key needs a restart, as any other setting does.
    return DkimSigner(load_key(Path(key_path)), selector, domain)


def _canonical_line(line: bytes) -> tuple[bytes, bytes]:
    """Return the lowercased name of an unfolded header line and its relaxed form with CRLF."""
    name, colon, value = line.partition(b":")
    if not colon:
        raise ValueError(f"not a header field: {line[:40]!r}")
    name = name.rstrip(b" \t").lower()
    return name, name + b":" + _relaxed_value(value) + b"\r\n"


@lru_cache(maxsize=64)
def _signed_names(present: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(n for n in SIGNED_FIELDS if n in present) + GUARDED


@lru_cache(maxsize=64)
def _tag_parts(
    tags: bytes, names: tuple[bytes, ...]
) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
    """Return the signature field's tags around ``t=`` and ``bh=``'s values, and their relaxed form.

    The field is ``before`` + time + ``between`` + body hash + ``after`` + ``b=``'s value;
    each part relaxed alone gives the whole relaxed, as none begins or ends with a space.
    """
    before = tags + b" t="
    between = b";%s%s;%sbh=" % (_FOLD, _h_tag(names), _FOLD)
    after = b";%sb=" % _FOLD
    return (
        before,
        between,
        after,
        b"dkim-signature:" + _relaxed_value(before),
        _WSP.sub(b" ", between.replace(b"\r\n", b"")),
        _WSP.sub(b" ", after.replace(b"\r\n", b"")),
    )


@lru_cache(maxsize=64)
def _h_tag(names: tuple[bytes, ...]) -> bytes:
    """Return ``h=`` with its names, folded before a name that would pass the line width."""
    out = b"h="
    width = 1 + len(out)
    for index, name in enumerate(names):
        piece = name + (b":" if index < len(names) - 1 else b"")
        if width + len(piece) > _LINE:
            out += _FOLD + b" "
            width = 2
        out += piece
        width += len(piece)
    return out


def _selected(fields: dict[bytes, list[bytes]], names: tuple[bytes, ...]) -> bytes:
    """Join the relaxed signed fields, the last occurrence of a name first (RFC 6376, 5.4.2).

    Takes the fields it uses out of ``fields``.
    """
    return b"".join([same.pop() for name in names if (same := fields.get(name))])


def _relaxed_value(value: bytes) -> bytes:
    """Unfold, turn runs of spaces and tabs into one space and strip them at both ends."""
    if b"\r" in value or b"\t" in value or b"  " in value:
        value = _WSP.sub(b" ", value.replace(b"\r\n", b""))
    return value.strip(b" \t")
