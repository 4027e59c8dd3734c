"""Which addresses a feed check may reach, checked on what DNS answers and on what was reached.

A feed address is typed by staff, so it could name the server's own loopback, the cloud's
metadata service or an intranet host. Each host name is resolved and every address it resolves
to must be public; the connection then checks the address it actually reached, so a DNS answer
that changes between the two (rebinding) is refused as well. ``FEED_ALLOWED_HOSTS`` opens
chosen private addresses, networks or host names.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from engine.config import FeedHost

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The feed's host is (or resolves to) an address feeds may not reach."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Public addresses, plus the private networks and host names a deployment allows."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def from_setting(cls, entries: tuple[FeedHost, ...]) -> AddressPolicy:
        """Split ``FEED_ALLOWED_HOSTS`` (parsed by ``engine.config``) into networks and names."""
        networks = tuple(entry for entry in entries if not isinstance(entry, str))
        names = frozenset(entry for entry in entries if isinstance(entry, str))
        return cls(networks, names)

    def allows(self, host: str, address: str) -> bool:
        """Tell whether ``address`` (reached for ``host``) may be read from."""
        if host.lower().rstrip(".") in self.names:
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return all(self._allows(inner) for inner in _reached(ip))

    def _allows(self, ip: IPAddress) -> bool:
        if _public(ip):
            return True
        return any(ip in network for network in self.networks)

    def check_host(self, host: str, port: int) -> None:
        """Resolve ``host`` and raise ``RefusedAddress`` unless every address is allowed."""
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise RefusedAddress(f"The host {host} could not be found.") from None
        for *_, sockaddr in answers:
            if not self.allows(host, str(sockaddr[0])):
                raise RefusedAddress(_refusal(host, str(sockaddr[0])))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _reached(ip: IPAddress) -> tuple[IPAddress, ...]:
    """Return the addresses a connection to ``ip`` reaches: IPv4 inside IPv6 is judged as IPv4.

    ``::ffff:127.0.0.1`` (mapped), ``::127.0.0.1`` (compatible), ``64:ff9b::7f00:1`` (NAT64),
    ``2002:7f00:1::`` (6to4) and Teredo addresses all carry an IPv4 address that a gateway
    or the host's own stack may deliver to.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return (ip,)
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:
        return (ip, ip.sixtofour)
    if ip.teredo is not None:
        return (ip, *ip.teredo)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    return (ip,)


def _public(ip: IPAddress) -> bool:
    if not ip.is_global or ip.is_multicast:
        return False
    # Site-local (fec0::/10) is deprecated but still routed inside some networks, and the
    # local-use NAT64 prefix reaches whatever IPv4 network its gateway serves.
    return not (isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip in _NAT64_LOCAL))


def _refusal(host: str, address: str) -> str:
    return (
        f"{host} is at {address}, a private, loopback or reserved address, which feeds may not "
        "be read from. An administrator can allow it with PINWHEEL_FEED_ALLOWED_HOSTS."
    )


#: Called with each socket a checked session connects (the fetch's watchdog keeps them).
OnConnect = Callable[[socket.socket], None]


class _PeerChecked:
    """Check the address a new connection reached before anything is sent on it."""

    policy: AddressPolicy
    on_connect: OnConnect | None
    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        address = str(sock.getpeername()[0])
        if not self.policy.allows(self.host, address):
            sock.close()
            raise RefusedAddress(_refusal(self.host, address))
        if self.on_connect is not None:
            self.on_connect(sock)
        return sock


class _PolicyAdapter(HTTPAdapter):
    """A requests adapter whose connections check the address they reached."""

    def __init__(self, policy: AddressPolicy, on_connect: OnConnect | None) -> None:
        # A plain function stored on a class would become a method: staticmethod keeps it one.
        hook = staticmethod(on_connect) if on_connect is not None else None
        attributes: dict[str, Any] = {"policy": policy, "on_connect": hook}
        http = type("CheckedHTTPConnection", (_PeerChecked, HTTPConnection), attributes)
        https = type("CheckedHTTPSConnection", (_PeerChecked, HTTPSConnection), attributes)
        self._pools = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def checked_session(
    policy: AddressPolicy, *, on_connect: OnConnect | None = None
) -> requests.Session:
    """Return a requests session that reaches only what ``policy`` allows.

    ``on_connect`` is given each socket once its peer passed the check.

    Proxies from the environment are ignored: through a proxy, the address reached would be the
    proxy's, and the check would say nothing about the feed's host.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = _PolicyAdapter(policy, on_connect)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
