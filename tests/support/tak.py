"""A TAK server's receiving end for the ``nsp cot-out`` tests (geo/cot_stream.py): accepts CoT
streams over TCP or TLS and reads each with pytak's own RXWorker, and helpers that read what
arrived (uids, deletes, the messages of one uid)."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import Callable

from defusedxml.ElementTree import fromstring

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # pytak's note that aiohttp (Marti HTTP) is missing
    import pytak

WAIT = 20.0  # seconds; generous on a loaded machine


class Receiver:
    """A TAK server's receiving end: accepts streams (TCP, or TLS asking for a client
    certificate) and reads each with pytak's RXWorker, which splits the stream on </event>."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None):
        self.ssl = ssl_context
        self.messages: list[bytes] = []
        self.peers: list[dict | None] = []
        self.server = None
        self.writers: list = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.ssl)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader, writer):
        self.peers.append(writer.get_extra_info("peercert"))
        self.writers.append(writer)
        rx = pytak.RXWorker(asyncio.Queue(), {}, reader)
        while True:
            data = await rx.readcot()
            if not data:
                break
            self.messages.append(bytes(data))
        writer.close()

    async def wait_for(self, what: Callable[[list[bytes]], bool], timeout: float = WAIT) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not what(self.messages):
            if loop.time() > end:
                raise AssertionError(f"not received in {timeout:g} s; got {len(self.messages)}: "
                                     + "\n".join(m.decode()[:300] for m in self.messages[-5:]))
            await asyncio.sleep(0.05)

    def drop(self):
        for writer in self.writers:
            writer.close()

    async def close(self):
        self.drop()
        self.server.close()


def root(msg: bytes):
    return fromstring(msg)


def uids(messages, type_prefix: str = "") -> list[str]:
    """The uids of the messages (of types starting with ``type_prefix``), in order."""
    return [root(m).get("uid") for m in messages if root(m).get("type", "").startswith(type_prefix)]


def deleted(messages) -> list[str]:
    """The uids the deletes (``t-x-d-d``) among the messages remove."""
    return [root(m).find("detail/link").get("uid") for m in messages if root(m).get("type") == "t-x-d-d"]


def of(messages, uid: str) -> list:
    """The messages about ``uid``, parsed."""
    return [root(m) for m in messages if root(m).get("uid") == uid]
