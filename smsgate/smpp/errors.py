"""Typed SMPP errors.

Every error carries the ``command_status`` the session should put in its answer
(generic_nack or the matching ``*_resp``) plus the ``sequence_number`` and ``command_id``
when they could be read, so the session never has to guess how to reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smsgate.smpp.constants import CommandStatus

if TYPE_CHECKING:
    from smsgate.smpp.pdus import Pdu


class SmppError(Exception):
    """Base class of every error raised by smsgate.smpp."""

    default_status: int = CommandStatus.ESME_RSYSERR

    def __init__(
        self,
        message: str,
        *,
        command_status: int | None = None,
        sequence_number: int | None = None,
        command_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.command_status: int = self.default_status if command_status is None else command_status
        self.sequence_number = sequence_number
        self.command_id = command_id


# --- decoding: the peer sent bytes we cannot turn into a PDU -----------------------------


class DecodeError(SmppError):
    """The peer sent bytes that are not a valid PDU."""


class InvalidCommandLength(DecodeError):
    """command_length is below 16, above the configured maximum, or does not match the data.

    Framing is lost after this: the session should send generic_nack and close the connection.
    """

    default_status = CommandStatus.ESME_RINVCMDLEN


class UnknownCommandId(DecodeError):
    """command_id is not an SMPP 3.4 command. The PDU was skipped; the stream stays usable."""

    default_status = CommandStatus.ESME_RINVCMDID


class MalformedPdu(DecodeError):
    """The body does not match the command's layout (missing NUL, field too long, bad TLV...).

    The PDU was skipped, the stream stays usable. ``command_status`` names the offending field
    where SMPP has a code for it (e.g. ESME_RINVSRCADR), else ESME_RINVCMDLEN for a truncated body.
    """

    default_status = CommandStatus.ESME_RINVCMDLEN


class IncompletePdu(DecodeError):
    """The connection ended in the middle of a PDU."""

    default_status = CommandStatus.ESME_RINVCMDLEN


# --- encoding: our own PDU cannot be put on the wire -------------------------------------


class EncodeError(SmppError, ValueError):
    """A PDU field holds a value that cannot be encoded (too long, out of range, wrong type).

    ``field`` names the PDU field or TLV at fault (``source_addr``), None when the fault is not one
    field's (not a PDU, too long as a whole)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTimeFormat(SmppError, ValueError):
    """Not a valid SMPP absolute/relative time string (YYMMDDhhmmsstnnp)."""


# --- session: a PDU is valid on its own but not here and now -----------------------------


class ProtocolViolation(SmppError):
    """A PDU is not acceptable in the session's current situation.

    Raised by ``send`` for our own PDU (a bug in our caller) and by ``next_event`` for the peer's
    (answer it with ``command_status``). ``pdu`` is the offending PDU.
    """

    def __init__(
        self,
        message: str,
        *,
        pdu: Pdu | None = None,
        command_status: int | None = None,
    ) -> None:
        super().__init__(
            message,
            command_status=command_status,
            sequence_number=pdu.sequence_number if pdu is not None else None,
            command_id=pdu.command_id if pdu is not None else None,
        )
        self.pdu = pdu


class InvalidBindState(ProtocolViolation):
    """The command is not allowed in the current bind state (ESME_RINVBNDSTS / ESME_RALYBND)."""

    default_status = CommandStatus.ESME_RINVBNDSTS


class CommandNotAllowed(ProtocolViolation):
    """The command may never travel in this direction (e.g. an ESME receiving submit_sm)."""

    default_status = CommandStatus.ESME_RINVCMDID


class UnexpectedResponse(ProtocolViolation):
    """A response whose sequence_number/command_id matches no outstanding request.

    Typically a late answer to a request the session already gave up on: log it and move on.
    """

    default_status = CommandStatus.ESME_RINVCMDID


class SequenceNumberInUse(ProtocolViolation):
    """We tried to send a request reusing the sequence_number of one still awaiting its response."""


class WindowFull(ProtocolViolation):
    """We tried to send a request while ``window_size`` requests are already awaiting responses."""

    default_status = CommandStatus.ESME_RTHROTTLED
