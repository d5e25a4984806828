"""One asyncio session for both roles (issue 11 item 4): the client and the server share
``smpp_io.session.Session`` and its one error family."""

from __future__ import annotations

import asyncio
import struct

import pytest
from _raw_esme import RawEsme
from test_smpp_server import Handler

from smsgate.smpp import CommandId, DeliverSm
from smsgate.smpp_io import client, server, session
from smsgate.smpp_io.server import SmppServer
from smsgate.smpp_io.session import ConnectionLost, NotSent, OutcomeUnknown, ResponseTimeout, SessionClosed


def test_client_and_server_raise_one_error_family() -> None:
    assert issubclass(client._Link, session.Session) and issubclass(server.SmscSession, session.Session)
    for module in (client, server):
        assert module.NotSent is NotSent and module.OutcomeUnknown is OutcomeUnknown
        assert module.ResponseTimeout is ResponseTimeout and module.ConnectionLost is ConnectionLost
    assert issubclass(SessionClosed, NotSent) and issubclass(client.NotBound, NotSent)
    assert issubclass(ResponseTimeout, OutcomeUnknown) and issubclass(ConnectionLost, OutcomeUnknown)


async def test_an_unreadable_answer_to_a_delivery_is_an_unknown_outcome() -> None:
    # The server used to hand back a generic_nack here, the client raised: now both raise.
    async with SmppServer(Handler(), response_timeout=2) as smsc:
        esme = await RawEsme.open(smsc.port)
        await esme.bind()
        [receiver] = smsc.receivers()
        delivery = asyncio.create_task(receiver.deliver(DeliverSm(short_message=b"x")))
        sent = await esme.recv()
        assert isinstance(sent, DeliverSm)
        # deliver_sm_resp whose message_id has no NUL terminator: undecodable body
        body = b"abc"
        header = struct.pack(">IIII", 16 + len(body), CommandId.DELIVER_SM_RESP, 0, sent.sequence_number)
        await esme.write(header + body)
        with pytest.raises(OutcomeUnknown):
            await asyncio.wait_for(delivery, 2)
        await esme.close()
