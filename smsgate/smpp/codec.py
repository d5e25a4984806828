"""PDU <-> bytes. Pure functions, no I/O.

``encode_pdu(pdu) -> bytes`` and ``decode_pdu(data) -> Pdu`` handle exactly one PDU;
``peek_command_length`` lets a stream reader (``Connection``) frame PDUs without decoding them.

Decoding never trusts a length it has not bounds-checked, so any byte string either yields a PDU
or raises a DecodeError subclass, in time linear in its size.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from typing import Any

from smsgate.smpp.constants import (
    DEFAULT_MAX_COMMAND_LENGTH,
    HEADER_LENGTH,
    CommandStatus,
    DestFlag,
)
from smsgate.smpp.errors import (
    EncodeError,
    InvalidCommandLength,
    MalformedPdu,
    SmppError,
    UnknownCommandId,
)
from smsgate.smpp.pdus import (
    PDU_CLASSES_BY_ID,
    DistributionList,
    Pdu,
    Request,
    Response,
    SmeAddress,
    UnsuccessSme,
    Wire,
)
from smsgate.smpp.tlv import decode_tlvs, encode_tlvs

_HEADER = struct.Struct(">IIII")
_LENGTH = struct.Struct(">I")
_U32 = struct.Struct(">I")
_U8, _CSTR, _SM = Wire.U8, Wire.CSTR, Wire.SHORT_MESSAGE

# (wire kind, field name, size, command_status on error, default value)
_FieldPlan = tuple[Wire, str, int, int, object]
_PLANS: dict[type[Pdu], tuple[_FieldPlan, ...]] = {}


def _plan(cls: type[Pdu]) -> tuple[_FieldPlan, ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = tuple(
            (f.metadata["wire"][0], f.name, f.metadata["wire"][1], f.metadata["wire"][2], f.default)
            for f in dataclasses.fields(cls)
            if "wire" in f.metadata
        )
        _PLANS[cls] = plan
    return plan


for _cls in PDU_CLASSES_BY_ID.values():
    _plan(_cls)


# --- encoding -------------------------------------------------------------------------------


def _cstr_bytes(value: object, size: int, name: str) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{name} must be str, got {type(value).__name__}", field=name)
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{name} must be latin-1/ASCII text, got {value!r}", field=name) from None
    if len(raw) >= size:
        raise EncodeError(f"{name} is {len(raw)} chars, the field holds at most {size - 1}", field=name)
    if b"\0" in raw:
        raise EncodeError(f"{name} contains a NUL", field=name)
    return raw + b"\0"


def _u8_byte(value: object, name: str) -> bytes:
    if type(value) is bool or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise EncodeError(f"{name} must be an int 0..255, got {value!r}", field=name)
    return bytes((value,))


def _encode_dest_addresses(value: Sequence[object]) -> bytes:
    if len(value) > 255:
        raise EncodeError(f"submit_multi allows at most 255 destinations, got {len(value)}")
    parts = [bytes((len(value),))]
    for dest in value:
        if isinstance(dest, SmeAddress):
            parts.append(b"\x01")
            parts.append(_u8_byte(dest.dest_addr_ton, "dest_addr_ton"))
            parts.append(_u8_byte(dest.dest_addr_npi, "dest_addr_npi"))
            parts.append(_cstr_bytes(dest.destination_addr, 21, "destination_addr"))
        elif isinstance(dest, DistributionList):
            parts.append(b"\x02")
            parts.append(_cstr_bytes(dest.dl_name, 21, "dl_name"))
        else:
            raise EncodeError(f"dest_address entries must be SmeAddress or DistributionList, got {dest!r}")
    return b"".join(parts)


def _encode_unsuccess(value: Sequence[object]) -> bytes:
    if len(value) > 255:
        raise EncodeError(f"at most 255 unsuccess_sme entries, got {len(value)}")
    parts = [bytes((len(value),))]
    for sme in value:
        if not isinstance(sme, UnsuccessSme):
            raise EncodeError(f"unsuccess_sme entries must be UnsuccessSme, got {sme!r}")
        parts.append(_u8_byte(sme.dest_addr_ton, "dest_addr_ton"))
        parts.append(_u8_byte(sme.dest_addr_npi, "dest_addr_npi"))
        parts.append(_cstr_bytes(sme.destination_addr, 21, "destination_addr"))
        try:
            parts.append(_U32.pack(sme.error_status_code))
        except struct.error:
            raise EncodeError(f"error_status_code out of range: {sme.error_status_code!r}") from None
    return b"".join(parts)


def encode_pdu(pdu: Pdu) -> bytes:
    """Serialise one PDU. Raises EncodeError if a field cannot be represented on the wire."""
    cls = type(pdu)
    plan = _PLANS.get(cls)
    if plan is None or cls.command_id == 0:
        raise EncodeError(f"not an SMPP PDU: {pdu!r}")
    status = pdu.command_status
    parts: list[bytes] = []
    # Error responses go out header-only when the body carries nothing (spec 4.4.2 etc.: "the
    # body is not returned if command_status is non-zero").
    if not (
        cls.is_response
        and status
        and not pdu.tlvs
        and all(getattr(pdu, name) == default for _, name, _, _, default in plan)
    ):
        append = parts.append
        for kind, name, size, _, _ in plan:
            value = getattr(pdu, name)
            if kind is _U8:
                if type(value) is not int or not 0 <= value <= 0xFF:
                    append(_u8_byte(value, name))  # raises unless it's an int subclass in range
                else:
                    append(bytes((value,)))
            elif kind is _CSTR:
                append(_cstr_bytes(value, size, name))
            elif kind is _SM:
                if not isinstance(value, (bytes, bytearray)):
                    raise EncodeError(f"{name} must be bytes, got {type(value).__name__}", field=name)
                if len(value) > size:
                    raise EncodeError(
                        f"{name} is {len(value)} octets, at most {size}; use message_payload", field=name
                    )
                append(bytes((len(value),)))
                append(bytes(value))
            elif kind is Wire.DEST_ADDRESSES:
                append(_encode_dest_addresses(value))
            else:
                append(_encode_unsuccess(value))
        if pdu.tlvs:
            append(encode_tlvs(pdu.tlvs))
    body = b"".join(parts)
    try:
        header = _HEADER.pack(HEADER_LENGTH + len(body), cls.command_id, status, pdu.sequence_number)
    except struct.error:
        raise EncodeError(
            f"command_status/sequence_number must be 0..2^32-1: {status!r}, {pdu.sequence_number!r}"
        ) from None
    return header + body


# --- decoding -------------------------------------------------------------------------------


def peek_command_length(
    data: bytes | bytearray, offset: int = 0, *, max_length: int = DEFAULT_MAX_COMMAND_LENGTH
) -> int | None:
    """command_length of the PDU starting at ``offset``, or None if fewer than 4 octets are there.

    Raises InvalidCommandLength at once for a length below 16 or above ``max_length``, so a stream
    reader never waits for (or buffers) a bogus multi-gigabyte PDU.
    """
    if len(data) - offset < 4:
        return None
    length: int = _LENGTH.unpack_from(data, offset)[0]
    if length < HEADER_LENGTH or length > max_length:
        seq = cid = None
        if len(data) - offset >= HEADER_LENGTH:
            _, cid, _, seq = _HEADER.unpack_from(data, offset)
        raise InvalidCommandLength(
            f"command_length {length} outside {HEADER_LENGTH}..{max_length}",
            sequence_number=seq,
            command_id=cid,
        )
    return length


def decode_pdu(
    data: bytes | bytearray | memoryview, *, max_length: int = DEFAULT_MAX_COMMAND_LENGTH
) -> Request | Response:
    """Parse exactly one PDU; ``len(data)`` must equal its command_length."""
    if not isinstance(data, bytes):
        data = bytes(data)
    n = len(data)
    if n < HEADER_LENGTH:
        raise InvalidCommandLength(f"{n} octets is shorter than a PDU header")
    length, command_id, status, seq = _HEADER.unpack_from(data)
    if length != n or length > max_length:
        raise InvalidCommandLength(
            f"command_length {length} does not match {n} octets (max {max_length})",
            sequence_number=seq,
            command_id=command_id,
        )
    return _decode_body(data, command_id, status, seq)


def _truncated(name: str, seq: int, cid: int) -> MalformedPdu:
    return MalformedPdu(
        f"body ends inside mandatory field {name}",
        command_status=CommandStatus.ESME_RINVCMDLEN,
        sequence_number=seq,
        command_id=cid,
    )


def _read_cstr(
    data: bytes, pos: int, end: int, size: int, name: str, status: int, seq: int, cid: int
) -> tuple[str, int]:
    nul = data.find(0, pos, min(end, pos + size))
    if nul < 0:
        if pos + size <= end:
            raise MalformedPdu(
                f"{name} has no NUL within its {size} octets",
                command_status=status,
                sequence_number=seq,
                command_id=cid,
            )
        raise _truncated(name, seq, cid)
    return data[pos:nul].decode("latin-1"), nul + 1


def _decode_body(data: bytes, cid: int, status: int, seq: int) -> Request | Response:
    cls = PDU_CLASSES_BY_ID.get(cid)
    if cls is None:
        raise UnknownCommandId(f"unknown command_id 0x{cid:08x}", sequence_number=seq, command_id=cid)
    end = len(data)
    pos = HEADER_LENGTH
    # Responses may come header-only (typically error answers): fields keep their defaults.
    if pos == end and cls.is_response:
        return cls(command_status=status, sequence_number=seq)
    # Field name -> decoded value; the class's own field types are checked by its constructor.
    kwargs: dict[str, Any] = {}
    for kind, name, size, fstatus, _ in _PLANS[cls]:
        if kind is _U8:
            if pos >= end:
                raise _truncated(name, seq, cid)
            kwargs[name] = data[pos]
            pos += 1
        elif kind is _CSTR:
            nul = data.find(0, pos, min(end, pos + size))
            if nul < 0:
                _read_cstr(data, pos, end, size, name, fstatus, seq, cid)  # raises the right error
            kwargs[name] = data[pos:nul].decode("latin-1")
            pos = nul + 1
        elif kind is _SM:
            if pos >= end:
                raise _truncated("sm_length", seq, cid)
            sm_length = data[pos]
            pos += 1
            if pos + sm_length > end:
                raise MalformedPdu(
                    f"sm_length {sm_length} overruns the PDU body",
                    command_status=CommandStatus.ESME_RINVMSGLEN,
                    sequence_number=seq,
                    command_id=cid,
                )
            kwargs[name] = data[pos : pos + sm_length]
            pos += sm_length
        elif kind is Wire.DEST_ADDRESSES:
            kwargs[name], pos = _decode_dest_addresses(data, pos, end, seq, cid)
        else:
            kwargs[name], pos = _decode_unsuccess(data, pos, end, seq, cid)
    tlvs = decode_tlvs(data, pos, end, sequence_number=seq, command_id=cid) if pos < end else ()
    return cls(command_status=status, sequence_number=seq, tlvs=tlvs, **kwargs)


def _decode_dest_addresses(
    data: bytes, pos: int, end: int, seq: int, cid: int
) -> tuple[tuple[SmeAddress | DistributionList, ...], int]:
    if pos >= end:
        raise _truncated("number_of_dests", seq, cid)
    count = data[pos]
    pos += 1
    out: list[SmeAddress | DistributionList] = []
    for _ in range(count):
        if pos >= end:
            raise _truncated("dest_flag", seq, cid)
        flag = data[pos]
        pos += 1
        if flag == DestFlag.SME_ADDRESS:
            if pos + 2 > end:
                raise _truncated("dest_addr_ton", seq, cid)
            ton, npi = data[pos], data[pos + 1]
            addr, pos = _read_cstr(
                data, pos + 2, end, 21, "destination_addr", CommandStatus.ESME_RINVDSTADR, seq, cid
            )
            out.append(SmeAddress(dest_addr_ton=ton, dest_addr_npi=npi, destination_addr=addr))
        elif flag == DestFlag.DISTRIBUTION_LIST:
            name, pos = _read_cstr(data, pos, end, 21, "dl_name", CommandStatus.ESME_RINVDLNAME, seq, cid)
            out.append(DistributionList(dl_name=name))
        else:
            raise MalformedPdu(
                f"dest_flag {flag} is neither 1 (SME address) nor 2 (distribution list)",
                command_status=CommandStatus.ESME_RINVDESTFLAG,
                sequence_number=seq,
                command_id=cid,
            )
    return tuple(out), pos


def _decode_unsuccess(
    data: bytes, pos: int, end: int, seq: int, cid: int
) -> tuple[tuple[UnsuccessSme, ...], int]:
    if pos >= end:
        raise _truncated("no_unsuccess", seq, cid)
    count = data[pos]
    pos += 1
    out = []
    for _ in range(count):
        if pos + 2 > end:
            raise _truncated("dest_addr_ton", seq, cid)
        ton, npi = data[pos], data[pos + 1]
        addr, pos = _read_cstr(
            data, pos + 2, end, 21, "destination_addr", CommandStatus.ESME_RINVDSTADR, seq, cid
        )
        if pos + 4 > end:
            raise _truncated("error_status_code", seq, cid)
        (code,) = _U32.unpack_from(data, pos)
        pos += 4
        out.append(
            UnsuccessSme(dest_addr_ton=ton, dest_addr_npi=npi, destination_addr=addr, error_status_code=code)
        )
    return tuple(out), pos


__all__ = ["SmppError", "decode_pdu", "encode_pdu", "peek_command_length"]
