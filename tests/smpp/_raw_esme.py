"""Test helpers shared by the SMPP server and simulator tests: a raw ESME on our codec, smpplib set up
the same way everywhere, and a wait on a condition."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import smpplib.client
from live import eventually_async

from smsgate.smpp import BindTransceiver, DeliverSm, decode_pdu, encode_pdu
from smsgate.smpp.pdus import Pdu, Request, Response


class RawEsme:
    """Our codec straight on a socket, no session rules: sends exactly what a test asks and answers
    nothing by itself. ``credentials`` is what ``bind()`` sends unless told otherwise."""

    credentials = ("esme", "secret")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.seq = reader, writer, 0

    @classmethod
    async def open(cls, port: int) -> RawEsme:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, pdu: Pdu) -> Pdu:
        if isinstance(pdu, Request) and pdu.sequence_number == 0:
            self.seq += 1
            pdu = pdu.replace(sequence_number=self.seq)
        await self.write(encode_pdu(pdu))
        return pdu

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = 2.0) -> Pdu | None:
        """Next PDU, or None at EOF; TimeoutError if nothing comes."""
        try:
            head = await asyncio.wait_for(self.reader.readexactly(4), timeout)
            (length,) = struct.unpack(">I", head)
            return decode_pdu(head + await asyncio.wait_for(self.reader.readexactly(length - 4), timeout))
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def request(self, pdu: Pdu, timeout: float = 2.0) -> Response:
        sent = await self.send(pdu)
        while True:
            got = await self.recv(timeout)
            assert got is not None, f"EOF while waiting for the answer to {sent!r}"
            if isinstance(got, Response) and got.sequence_number == sent.sequence_number:
                return got

    async def bind(
        self, cls: type = BindTransceiver, system_id: str | None = None, password: str | None = None
    ) -> Response:
        default_id, default_password = self.credentials
        return await self.request(
            cls(
                system_id=default_id if system_id is None else system_id,
                password=default_password if password is None else password,
            )
        )

    async def receipts(self, count: int, timeout: float = 2.0) -> list[DeliverSm]:
        """Read ``count`` deliver_sm, acknowledging each."""
        out: list[DeliverSm] = []
        while len(out) < count:
            pdu = await self.recv(timeout)
            assert pdu is not None, "EOF while waiting for receipts"
            if isinstance(pdu, DeliverSm):
                await self.send(pdu.response())
                out.append(pdu)
        return out

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def smpplib_client(port: int) -> smpplib.client.Client:
    return smpplib.client.Client("127.0.0.1", port, timeout=2, allow_unknown_opt_params=True)


async def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    await eventually_async(predicate, timeout=timeout)
