"""DKIM keys: start-up checks, ``pinwheel dkim generate|record`` and the doctor's DNS check."""

from __future__ import annotations

import base64
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskCliRunner

from engine.app import create_app
from engine.config import ConfigError, Settings, load_settings
from engine.dkim_keys import DkimKey, generate_key, published_key, txt_strings
from engine.doctor import check_dkim_key
from engine.sender_dns import DnsUnavailable

NAME = "s1._domainkey.pinwheel.example.org"


class Resolver:
    """Answer TXT lookups from a dict, or fail like a machine without DNS."""

    def __init__(self, records: dict[str, list[str]] | None = None) -> None:
        self.records = records

    def txt(self, name: str) -> list[str]:
        if self.records is None:
            raise DnsUnavailable("LifetimeTimeout: no nameservers answered")
        return self.records.get(name, [])


@pytest.fixture(scope="module")
def rsa_key() -> DkimKey:
    return generate_key("rsa")


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: DkimKey) -> Path:
    path = tmp_path / "s1.pem"
    path.write_bytes(rsa_key.private_pem())
    return path


def _load(tmp_path: Path, **values: str) -> Settings:
    environ = {"PINWHEEL_INSTANCE_PATH": str(tmp_path / "instance")}
    return load_settings(environ | {f"PINWHEEL_{key}": value for key, value in values.items()})


def _config_error(tmp_path: Path, **values: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **values)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- start-up checks ------------------------------------------------------------------------


def test_a_configured_key_loads(tmp_path: Path, key_file: Path) -> None:
    settings = _load(tmp_path, DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(key_file))
    assert settings.DKIM_SELECTOR == "s1"
    ed_file = tmp_path / "ed.pem"
    ed_file.write_bytes(generate_key("ed25519").private_pem())
    _load(tmp_path, DKIM_SELECTOR="ed.2025", DKIM_PRIVATE_KEY_PATH=str(ed_file))


def test_selector_and_key_path_go_together(tmp_path: Path, key_file: Path) -> None:
    assert _config_error(tmp_path, DKIM_SELECTOR="s1") == (
        "PINWHEEL_DKIM_PRIVATE_KEY_PATH is required when PINWHEEL_DKIM_SELECTOR is set"
    )
    assert _config_error(tmp_path, DKIM_PRIVATE_KEY_PATH=str(key_file)) == (
        "PINWHEEL_DKIM_SELECTOR is required when PINWHEEL_DKIM_PRIVATE_KEY_PATH is set"
    )


def test_unusable_key_files_name_the_setting(tmp_path: Path) -> None:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a key")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_file = tmp_path / "ec.pem"
    ec_file.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        generate_key("ed25519").private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    expected = {
        tmp_path / "missing.pem": "no file at",
        tmp_path: "cannot read",
        not_pem: "is not a PEM private key",
        ec_file: "is neither an RSA nor an Ed25519 key",
        locked: "is encrypted; store the key without a passphrase",
    }
    for path, problem in expected.items():
        message = _config_error(tmp_path, DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(path))
        assert message.startswith("PINWHEEL_DKIM_PRIVATE_KEY_PATH: ")
        assert str(path) in message
        assert problem in message
    missing = tmp_path / "missing.pem"
    assert _config_error(tmp_path, DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(missing)) == (
        f"PINWHEEL_DKIM_PRIVATE_KEY_PATH: no file at {missing}; with the DKIM settings unset, "
        f"make it: pinwheel dkim generate --selector s1 --out {missing}"
    )


def test_selector_and_domain_must_be_dns_names(tmp_path: Path, key_file: Path) -> None:
    message = _config_error(tmp_path, DKIM_SELECTOR="s 1", DKIM_PRIVATE_KEY_PATH=str(key_file))
    assert message.startswith("PINWHEEL_DKIM_SELECTOR must be DNS labels")
    message = _config_error(
        tmp_path,
        DKIM_SELECTOR="s1",
        DKIM_PRIVATE_KEY_PATH=str(key_file),
        DKIM_DOMAIN="news@agency.example",
    )
    assert message.startswith("PINWHEEL_DKIM_DOMAIN must be a domain name")


# --- published records ----------------------------------------------------------------------


def test_published_key_reads_the_one_record(rsa_key: DkimKey) -> None:
    assert published_key(["v=spf1 -all"]) is None
    record = rsa_key.dns_record()
    # Resolvers hand back the strings of a long record joined, as DnsPythonResolver does.
    assert "".join(txt_strings(record)) == record
    assert all(len(part) <= 255 for part in txt_strings(record))
    assert published_key([record]) == ("rsa", rsa_key.public_bytes)
    with pytest.raises(ValueError, match="2 DKIM records"):
        published_key([record, record])
    with pytest.raises(ValueError, match="not base64"):
        published_key(["v=DKIM1; k=rsa; p=!!"])


# --- pinwheel dkim generate / record --------------------------------------------------------


def _record_of(output: str) -> tuple[str, str]:
    """Return the name and the joined value of the zone line the command printed."""
    line = next(line for line in output.splitlines() if "._domainkey." in line and " TXT " in line)
    name, _, strings = line.partition(" TXT ")
    return name, "".join(re.findall(r'"([^"]*)"', strings))


def test_generate_writes_a_key_pair_and_a_record_the_doctor_accepts(
    runner: FlaskCliRunner, settings: Settings
) -> None:
    result = runner.invoke(args=["dkim", "generate", "--selector", "s1"])
    assert result.exit_code == 0, result.output
    private = settings.instance_path / "dkim" / "s1.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.with_suffix(".pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    name, value = _record_of(result.output)
    assert name == NAME
    assert value.startswith("v=DKIM1; k=rsa; p=")
    assert all(len(part) <= 255 for part in re.findall(r'"([^"]*)"', result.output))
    configured = settings.with_overrides(DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(private))
    check = check_dkim_key(configured, Resolver({name: [value]}))
    assert (check.status, check.message) == ("ok", f"{NAME} publishes the configured rsa key")


def test_generate_refuses_to_overwrite_without_force(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "keys" / "ed.pem"
    args = ["dkim", "generate", "--selector", "ed1", "--key-type", "ed25519", "--out", str(out)]
    assert runner.invoke(args=args).exit_code == 0
    first = out.read_bytes()
    refused = runner.invoke(args=args)
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        f"Error: {out} already exists; pass --force to replace it (then publish it anew)."
    ]
    replaced = runner.invoke(args=[*args, "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert out.read_bytes() != first
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "k=ed25519; p=" in _record_of(replaced.output)[1]


def test_generate_refuses_a_selector_that_is_no_dns_name(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["dkim", "generate", "--selector", "my key"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


def test_record_prints_the_configured_keys_record(
    settings: Settings, key_file: Path, rsa_key: DkimKey
) -> None:
    plain = create_app(settings).test_cli_runner().invoke(args=["dkim", "record"])
    assert plain.exit_code == 2
    assert "DKIM is not configured" in plain.output
    configured = settings.with_overrides(DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(key_file))
    result = create_app(configured).test_cli_runner().invoke(args=["dkim", "record"])
    assert result.exit_code == 0, result.output
    assert _record_of(result.output) == (NAME, rsa_key.dns_record())


# --- the doctor's check ---------------------------------------------------------------------


def test_doctor_check_outcomes(settings: Settings, key_file: Path, rsa_key: DkimKey) -> None:
    assert check_dkim_key(settings, Resolver({})).status == "skip"
    configured = settings.with_overrides(DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(key_file))
    other = generate_key("rsa").dns_record()
    revoked = "v=DKIM1; k=rsa; p="
    ed = generate_key("ed25519").dns_record()
    outcomes = {
        "ok": [rsa_key.dns_record()],
        "fail: another key": [other],
        "fail: revoked": [revoked],
        "fail: ed25519 record": [ed],
        "fail: none": [],
        "fail: two": [other, rsa_key.dns_record()],
    }
    for label, records in outcomes.items():
        check = check_dkim_key(configured, Resolver({NAME: records}))
        assert check.status == label.split(":")[0], (label, check)
        if check.status == "fail":
            assert "pinwheel dkim record" in check.hint
    mismatch = check_dkim_key(configured, Resolver({NAME: [other]}))
    assert mismatch.message == f"{NAME} publishes another key than {key_file}"
    assert check_dkim_key(configured, Resolver(None)).status == "warn"


def test_doctor_accepts_a_bare_rsa_public_key_record(
    settings: Settings, key_file: Path, rsa_key: DkimKey
) -> None:
    public = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    record = f"v=DKIM1; p={base64.b64encode(public).decode()}"
    configured = settings.with_overrides(DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(key_file))
    assert check_dkim_key(configured, Resolver({NAME: [record]})).status == "ok"
