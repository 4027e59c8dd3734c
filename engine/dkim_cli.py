"""``pinwheel dkim``: make the key that signs SMTP messages and print the record to publish."""

from __future__ import annotations

import os
from pathlib import Path

import click

from engine.cli import FeatureGroup, fail
from engine.delivery.dkim import signer_from_settings, signing_domain
from engine.dkim_keys import DNS_NAME, KEY_TYPES, DkimKey, generate_key
from engine.web import get_settings

dkim_group = FeatureGroup("dkim", help="DKIM signing keys (SMTP).")


@dkim_group.command("generate")
@click.option("--selector", required=True, help="The name the key is published under.")
@click.option("--key-type", type=click.Choice(KEY_TYPES), default="rsa", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the private key (default: instance/dkim/<selector>.pem).",
)
@click.option("--force", is_flag=True, help="Replace a key already at that path.")
def dkim_generate(selector: str, key_type: str, out: Path | None, force: bool) -> None:
    """Write a new key pair and print the DNS TXT record that publishes it."""
    if not DNS_NAME.fullmatch(selector):
        fail(f"The selector must be DNS labels (letters, digits, hyphens, dots): {selector!r}")
    settings = get_settings()
    private_path = (out or settings.instance_path / "dkim" / f"{selector}.pem").absolute()
    public_path = private_path.with_suffix(".pub")
    existing = [path for path in (private_path, public_path) if path.exists()]
    if existing and not force:
        fail(f"{existing[0]} already exists; pass --force to replace it (then publish it anew).")
    key = generate_key("ed25519" if key_type == "ed25519" else "rsa")
    try:
        _write_private(private_path, key)
        public_path.write_bytes(key.public_pem())
    except OSError as error:
        fail(f"Cannot write {error.filename}: {error.strerror}.")
    click.echo(f"Wrote the private key to {private_path} (mode 0600) and its public key to")
    click.echo(f"{public_path}. Publish this DNS TXT record:")
    click.echo(key.record_line(selector, signing_domain(settings)))
    click.echo(
        f"Then set PINWHEEL_DKIM_SELECTOR={selector} and "
        f"PINWHEEL_DKIM_PRIVATE_KEY_PATH={private_path}, and run `pinwheel doctor`."
    )


@dkim_group.command("record")
def dkim_record() -> None:
    """Print the DNS TXT record of the configured key."""
    signer = signer_from_settings(get_settings())
    if signer is None:
        fail("DKIM is not configured: set PINWHEEL_DKIM_SELECTOR and its key path.")
    click.echo(signer.key.record_line(signer.selector, signer.domain))


def _write_private(path: Path, key: DkimKey) -> None:
    """Write the key readable by its owner only, replacing the old file in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.part")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.private_pem())
    partial.replace(path)
