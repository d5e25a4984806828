"""Throughput of the SMPP codec: PDUs encoded / decoded per second (single core).

    /work/venv/bin/python bench/smpp_codec.py [--seconds 1.0]

Two workloads: submit_sm with a ~100 octet message (the MT path) and deliver_sm delivery
receipts with receipted_message_id + message_state TLVs (the DLR path). A third line measures
a full Connection round (send + receive_data + next_event) for the receipt, the realistic cost
per PDU for the session layer. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from smsgate.smpp import (
    BindTransceiver,
    Connection,
    DeliverSm,
    EsmClass,
    MessageState,
    ReceiptStat,
    Role,
    SubmitSm,
    Ton,
    build_receipt_text,
    build_tlvs,
    decode_pdu,
    encode_pdu,
)


def _rate(fn: Callable[[], object], seconds: float) -> float:
    # Calibrate a batch size so timer overhead is negligible, then run for ~`seconds`.
    batch = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        dt = time.perf_counter() - t0
        if dt > 0.05:
            break
        batch *= 2
    runs = max(1, int(seconds / dt))
    best = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        best = max(best, batch / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()

    submit = SubmitSm(
        sequence_number=42,
        source_addr_ton=Ton.ALPHANUMERIC,
        source_addr="smsgate",
        dest_addr_ton=Ton.INTERNATIONAL,
        dest_addr_npi=1,
        destination_addr="41793026727",
        registered_delivery=1,
        data_coding=0,
        short_message=(
            b"Your verification code is 123456. It expires in 10 minutes. Do not share it with anyone! :)"
        )[:100].ljust(100, b"."),
    )
    receipt_text = build_receipt_text(
        id="2f9d6c1e-8b7a-4e51", stat=ReceiptStat.DELIVRD, err=0, text="Your verification"
    ).encode()
    receipt = DeliverSm(
        sequence_number=43,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="41793026727",
        destination_addr="smsgate",
        esm_class=EsmClass.DELIVERY_RECEIPT,
        short_message=receipt_text,
        tlvs=build_tlvs(receipted_message_id="2f9d6c1e-8b7a-4e51", message_state=MessageState.DELIVERED),
    )
    submit_bytes = encode_pdu(submit)
    receipt_bytes = encode_pdu(receipt)
    assert decode_pdu(submit_bytes) == submit and decode_pdu(receipt_bytes) == receipt

    print(f"submit_sm  ({len(submit_bytes)} octets, {len(submit.short_message)} octet message)")
    print(f"  encode  {_rate(lambda: encode_pdu(submit), args.seconds):>10,.0f} PDU/s")
    print(f"  decode  {_rate(lambda: decode_pdu(submit_bytes), args.seconds):>10,.0f} PDU/s")
    print(f"deliver_sm receipt ({len(receipt_bytes)} octets, 2 TLVs)")
    print(f"  encode  {_rate(lambda: encode_pdu(receipt), args.seconds):>10,.0f} PDU/s")
    print(f"  decode  {_rate(lambda: decode_pdu(receipt_bytes), args.seconds):>10,.0f} PDU/s")

    # Session path: an SMSC sends the receipt, the ESME frames/decodes/tracks and answers it.
    smsc, esme = Connection(Role.SMSC), Connection(Role.ESME)
    smsc.receive_data(esme.send(BindTransceiver(system_id="bench")))
    bind = smsc.next_event()
    esme.receive_data(smsc.send(bind.response(system_id="smsc")))  # type: ignore[union-attr]
    esme.next_event()
    unsequenced = receipt.replace(sequence_number=0)

    def session_round() -> None:
        esme.receive_data(smsc.send(unsequenced))
        event = esme.next_event()
        smsc.receive_data(esme.send(event.response()))  # type: ignore[union-attr]
        smsc.next_event()

    print(
        f"  Connection round trip (send+frame+decode+resp, both sides) {_rate(session_round, args.seconds):>10,.0f} /s"
    )


if __name__ == "__main__":
    main()
