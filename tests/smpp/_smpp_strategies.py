"""Hypothesis strategies for SMPP PDUs, derived from the PDU classes' wire layout."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st

from smsgate.smpp import (
    ALL_PDU_CLASSES,
    DistributionList,
    NetworkErrorCode,
    Pdu,
    SmeAddress,
    Tlv,
    UnsuccessSme,
)
from smsgate.smpp.pdus import Wire
from smsgate.smpp.tlv import TLV_SPECS, TlvKind

# Any octet but NUL, as latin-1 text: what a C-octet string can carry.
_CHARS = st.characters(min_codepoint=1, max_codepoint=255)


def cstr(size: int) -> st.SearchStrategy[str]:
    return st.text(_CHARS, max_size=size - 1)


u8 = st.integers(0, 255)
u32 = st.integers(0, 0xFFFFFFFF)

sme_address = st.builds(SmeAddress, dest_addr_ton=u8, dest_addr_npi=u8, destination_addr=cstr(21))
distribution_list = st.builds(DistributionList, dl_name=cstr(21))
unsuccess_sme = st.builds(
    UnsuccessSme, dest_addr_ton=u8, dest_addr_npi=u8, destination_addr=cstr(21), error_status_code=u32
)


def tlv_value(tag: int) -> st.SearchStrategy[Any]:
    spec = TLV_SPECS[tag]
    if spec.kind is TlvKind.INT:
        return st.integers(0, (1 << (8 * spec.size)) - 1)
    if spec.kind is TlvKind.CSTR:
        return cstr(spec.size)
    if spec.kind is TlvKind.OCTETS:
        return st.binary(max_size=min(spec.size, 300))
    if spec.kind is TlvKind.NETWORK_ERROR:
        return st.builds(NetworkErrorCode, u8, st.integers(0, 0xFFFF))
    return st.just(True) | u8


known_tlv = st.sampled_from(sorted(TLV_SPECS)).flatmap(lambda tag: tlv_value(tag).map(lambda v: Tlv(tag, v)))
unknown_tlv = st.builds(
    Tlv, st.integers(0, 0xFFFF).filter(lambda t: t not in TLV_SPECS), st.binary(max_size=64)
)
tlvs = st.lists(known_tlv | unknown_tlv, max_size=4).map(tuple)


def _field_strategy(kind: Wire, size: int) -> st.SearchStrategy[Any]:
    if kind is Wire.U8:
        return u8
    if kind is Wire.CSTR:
        return cstr(size)
    if kind is Wire.SHORT_MESSAGE:
        return st.binary(max_size=size)
    if kind is Wire.DEST_ADDRESSES:
        return st.lists(sme_address | distribution_list, max_size=5).map(tuple)
    return st.lists(unsuccess_sme, max_size=5).map(tuple)


def pdus_of(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    kwargs: dict[str, st.SearchStrategy[Any]] = {
        "command_status": st.sampled_from([0, 0, 0, 1, 0x58]) | u32,
        "sequence_number": u32,
        "tlvs": tlvs,
    }
    for f in dataclasses.fields(cls):
        if "wire" in f.metadata:
            kind, size, _ = f.metadata["wire"]
            kwargs[f.name] = _field_strategy(kind, size)
    return st.builds(cls, **kwargs)


any_pdu = st.sampled_from(ALL_PDU_CLASSES).flatmap(pdus_of)
