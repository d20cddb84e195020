"""A tiny authoritative DNS server on loopback (UDP, dnspython), for the tests: the Store
service resolves TXT records through it exactly as it would through a real nameserver, so the
tests exercise real DNS packets, timeouts and SERVFAIL rather than a patched resolver."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsServer:
    """Answers TXT queries from an in-memory table. Unknown names get NXDOMAIN; names marked
    with `fail` get SERVFAIL; names marked with `drop` get no answer at all (a timeout)."""

    def __init__(self, host: str = "127.0.0.1", ttl: int = 1) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._sock.settimeout(0.2)
        self.host = host
        self.port = self._sock.getsockname()[1]
        self._ttl = ttl
        self._lock = threading.Lock()
        self._txt: dict[dns.name.Name, list[tuple[str, ...]]] = {}
        self._fail: set[dns.name.Name] = set()
        self._drop: set[dns.name.Name] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-server", daemon=True)
        self.queries = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def set_txt(self, name: str, *records: str | tuple[str, ...]) -> None:
        """Each record is a string, or a tuple of strings (one TXT record of several strings)."""
        key = dns.name.from_text(name)
        with self._lock:
            self._txt[key] = [r if isinstance(r, tuple) else (r,) for r in records]
            self._fail.discard(key)
            self._drop.discard(key)

    def remove(self, name: str) -> None:
        key = dns.name.from_text(name)
        with self._lock:
            self._txt.pop(key, None)
            self._fail.discard(key)
            self._drop.discard(key)

    def fail(self, name: str) -> None:
        with self._lock:
            self._fail.add(dns.name.from_text(name))

    def drop(self, name: str) -> None:
        with self._lock:
            self._drop.add(dns.name.from_text(name))

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = self._answer(dns.message.from_wire(wire))
            except Exception:  # a malformed packet must not stop the server
                continue
            if reply is not None:
                self._sock.sendto(reply.to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message | None:
        self.queries += 1
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name
        with self._lock:
            if name in self._drop:
                return None
            if name in self._fail:
                reply.set_rcode(dns.rcode.SERVFAIL)
                return reply
            records = self._txt.get(name)
        if records is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            text = [" ".join(f'"{s}"' for s in strings) for strings in records]
            reply.answer.append(
                dns.rrset.from_text_list(name, self._ttl, dns.rdataclass.IN, "TXT", text)
            )
        return reply
