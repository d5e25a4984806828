"""SMPP 3.4 numeric constants: command ids, command_status codes, TLV tags, TON/NPI and flags.

Everything here is an IntEnum / IntFlag so values compare equal to the plain ints the codec
puts into decoded PDUs (the codec never converts to enums on the hot path).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

SMPP_VERSION_34 = 0x34
HEADER_LENGTH = 16
# Default upper bound for command_length. The spec sets no limit, but a peer announcing
# a multi-megabyte PDU is either broken or hostile; 64 KiB fits any sane message_payload.
DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024
# Sequence numbers run 0x00000001..0x7FFFFFFF (section 3.2).
MAX_SEQUENCE_NUMBER = 0x7FFFFFFF
RESPONSE_MASK = 0x80000000


class CommandId(IntEnum):
    """command_id values (section 5.1.2.1)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


class CommandStatus(IntEnum):
    """command_status error codes (section 5.1.3)."""

    ESME_ROK = 0x00000000
    ESME_RINVMSGLEN = 0x00000001
    ESME_RINVCMDLEN = 0x00000002
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RINVPRTFLG = 0x00000006
    ESME_RINVREGDLVFLG = 0x00000007
    ESME_RSYSERR = 0x00000008
    ESME_RINVSRCADR = 0x0000000A
    ESME_RINVDSTADR = 0x0000000B
    ESME_RINVMSGID = 0x0000000C
    ESME_RBINDFAIL = 0x0000000D
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RCANCELFAIL = 0x00000011
    ESME_RREPLACEFAIL = 0x00000013
    ESME_RMSGQFUL = 0x00000014
    ESME_RINVSERTYP = 0x00000015
    ESME_RINVNUMDESTS = 0x00000033
    ESME_RINVDLNAME = 0x00000034
    ESME_RINVDESTFLAG = 0x00000040
    ESME_RINVSUBREP = 0x00000042
    ESME_RINVESMCLASS = 0x00000043
    ESME_RCNTSUBDL = 0x00000044
    ESME_RSUBMITFAIL = 0x00000045
    ESME_RINVSRCTON = 0x00000048
    ESME_RINVSRCNPI = 0x00000049
    ESME_RINVDSTTON = 0x00000050
    ESME_RINVDSTNPI = 0x00000051
    ESME_RINVSYSTYP = 0x00000053
    ESME_RINVREPFLAG = 0x00000054
    ESME_RINVNUMMSGS = 0x00000055
    ESME_RTHROTTLED = 0x00000058
    ESME_RINVSCHED = 0x00000061
    ESME_RINVEXPIRY = 0x00000062
    ESME_RINVDFTMSGID = 0x00000063
    ESME_RX_T_APPN = 0x00000064
    ESME_RX_P_APPN = 0x00000065
    ESME_RX_R_APPN = 0x00000066
    ESME_RQUERYFAIL = 0x00000067
    ESME_RINVOPTPARSTREAM = 0x000000C0
    ESME_ROPTPARNOTALLWD = 0x000000C1
    ESME_RINVPARLEN = 0x000000C2
    ESME_RMISSINGOPTPARAM = 0x000000C3
    ESME_RINVOPTPARAMVAL = 0x000000C4
    ESME_RDELIVERYFAILURE = 0x000000FE
    ESME_RUNKNOWNERR = 0x000000FF


STATUS_DESCRIPTIONS: dict[int, str] = {
    CommandStatus.ESME_ROK: "No Error",
    CommandStatus.ESME_RINVMSGLEN: "Message Length is invalid",
    CommandStatus.ESME_RINVCMDLEN: "Command Length is invalid",
    CommandStatus.ESME_RINVCMDID: "Invalid Command ID",
    CommandStatus.ESME_RINVBNDSTS: "Incorrect BIND Status for given command",
    CommandStatus.ESME_RALYBND: "ESME Already in Bound State",
    CommandStatus.ESME_RINVPRTFLG: "Invalid Priority Flag",
    CommandStatus.ESME_RINVREGDLVFLG: "Invalid Registered Delivery Flag",
    CommandStatus.ESME_RSYSERR: "System Error",
    CommandStatus.ESME_RINVSRCADR: "Invalid Source Address",
    CommandStatus.ESME_RINVDSTADR: "Invalid Dest Addr",
    CommandStatus.ESME_RINVMSGID: "Message ID is invalid",
    CommandStatus.ESME_RBINDFAIL: "Bind Failed",
    CommandStatus.ESME_RINVPASWD: "Invalid Password",
    CommandStatus.ESME_RINVSYSID: "Invalid System ID",
    CommandStatus.ESME_RCANCELFAIL: "Cancel SM Failed",
    CommandStatus.ESME_RREPLACEFAIL: "Replace SM Failed",
    CommandStatus.ESME_RMSGQFUL: "Message Queue Full",
    CommandStatus.ESME_RINVSERTYP: "Invalid Service Type",
    CommandStatus.ESME_RINVNUMDESTS: "Invalid number of destinations",
    CommandStatus.ESME_RINVDLNAME: "Invalid Distribution List name",
    CommandStatus.ESME_RINVDESTFLAG: "Destination flag is invalid (submit_multi)",
    CommandStatus.ESME_RINVSUBREP: "Invalid 'submit with replace' request",
    CommandStatus.ESME_RINVESMCLASS: "Invalid esm_class field data",
    CommandStatus.ESME_RCNTSUBDL: "Cannot Submit to Distribution List",
    CommandStatus.ESME_RSUBMITFAIL: "submit_sm or submit_multi failed",
    CommandStatus.ESME_RINVSRCTON: "Invalid Source address TON",
    CommandStatus.ESME_RINVSRCNPI: "Invalid Source address NPI",
    CommandStatus.ESME_RINVDSTTON: "Invalid Destination address TON",
    CommandStatus.ESME_RINVDSTNPI: "Invalid Destination address NPI",
    CommandStatus.ESME_RINVSYSTYP: "Invalid system_type field",
    CommandStatus.ESME_RINVREPFLAG: "Invalid replace_if_present flag",
    CommandStatus.ESME_RINVNUMMSGS: "Invalid number of messages",
    CommandStatus.ESME_RTHROTTLED: "Throttling error (ESME has exceeded allowed message limits)",
    CommandStatus.ESME_RINVSCHED: "Invalid Scheduled Delivery Time",
    CommandStatus.ESME_RINVEXPIRY: "Invalid message validity period (Expiry time)",
    CommandStatus.ESME_RINVDFTMSGID: "Predefined Message Invalid or Not Found",
    CommandStatus.ESME_RX_T_APPN: "ESME Receiver Temporary App Error Code",
    CommandStatus.ESME_RX_P_APPN: "ESME Receiver Permanent App Error Code",
    CommandStatus.ESME_RX_R_APPN: "ESME Receiver Reject Message Error Code",
    CommandStatus.ESME_RQUERYFAIL: "query_sm request failed",
    CommandStatus.ESME_RINVOPTPARSTREAM: "Error in the optional part of the PDU Body",
    CommandStatus.ESME_ROPTPARNOTALLWD: "Optional Parameter not allowed",
    CommandStatus.ESME_RINVPARLEN: "Invalid Parameter Length",
    CommandStatus.ESME_RMISSINGOPTPARAM: "Expected Optional Parameter missing",
    CommandStatus.ESME_RINVOPTPARAMVAL: "Invalid Optional Parameter Value",
    CommandStatus.ESME_RDELIVERYFAILURE: "Delivery Failure (used for data_sm_resp)",
    CommandStatus.ESME_RUNKNOWNERR: "Unknown Error",
}


def status_name(status: int) -> str:
    """Symbolic name of a command_status, or hex for vendor/reserved codes."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08X}"


class TlvTag(IntEnum):
    """Optional parameter tags (section 5.3.2)."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383

    # The spec calls dest_port "destination_port"; keep the short alias people search for.
    DEST_PORT = 0x020B


class Ton(IntEnum):
    """Type of Number (section 5.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(IntEnum):
    """Numbering Plan Indicator (section 5.2.6)."""

    UNKNOWN = 0
    ISDN = 1  # E.163 / E.164
    DATA = 3  # X.121
    TELEX = 4  # F.69
    LAND_MOBILE = 6  # E.212
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14  # IP
    WAP_CLIENT_ID = 18


class EsmClass(IntFlag):
    """esm_class bits (section 5.2.12): messaging mode (bits 1-0), type (5-2), GSM features (7-6)."""

    DEFAULT = 0x00
    # messaging mode
    DATAGRAM_MODE = 0x01
    FORWARD_MODE = 0x02
    STORE_AND_FORWARD_MODE = 0x03
    # message type
    DELIVERY_RECEIPT = 0x04
    DELIVERY_ACK = 0x08
    MANUAL_USER_ACK = 0x10
    CONVERSATION_ABORT = 0x18
    INTERMEDIATE_NOTIFICATION = 0x20
    # GSM network specific features
    UDHI = 0x40
    REPLY_PATH = 0x80


ESM_CLASS_MODE_MASK = 0x03
ESM_CLASS_TYPE_MASK = 0x3C


class RegisteredDelivery(IntFlag):
    """registered_delivery bits (section 5.2.17)."""

    NONE = 0x00
    SMSC_RECEIPT_ON_SUCCESS_OR_FAILURE = 0x01
    SMSC_RECEIPT_ON_FAILURE = 0x02
    SME_DELIVERY_ACK = 0x04
    SME_MANUAL_ACK = 0x08
    INTERMEDIATE_NOTIFICATION = 0x10


class DataCoding(IntEnum):
    """data_coding values (section 5.2.19)."""

    SMSC_DEFAULT = 0x00
    IA5 = 0x01
    OCTET_UNSPECIFIED_2 = 0x02
    LATIN_1 = 0x03
    OCTET_UNSPECIFIED = 0x04
    JIS = 0x05
    CYRILLIC = 0x06
    LATIN_HEBREW = 0x07
    UCS2 = 0x08
    PICTOGRAM = 0x09
    ISO_2022_JP = 0x0A
    EXTENDED_KANJI = 0x0D
    KS_C_5601 = 0x0E


class PriorityFlag(IntEnum):
    """priority_flag levels (section 5.2.14); meaning of 1-3 is network specific."""

    LEVEL_0 = 0
    LEVEL_1 = 1
    LEVEL_2 = 2
    LEVEL_3 = 3


class MessageState(IntEnum):
    """message_state values (section 5.2.28), used by query_sm_resp and the message_state TLV."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


FINAL_MESSAGE_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.EXPIRED,
        MessageState.DELETED,
        MessageState.UNDELIVERABLE,
        MessageState.REJECTED,
    }
)


class DestFlag(IntEnum):
    """dest_flag of a submit_multi dest_address entry (section 4.5.1.1)."""

    SME_ADDRESS = 1
    DISTRIBUTION_LIST = 2


class NetworkType(IntEnum):
    """Network type octet of the network_error_code TLV (section 5.3.2.31)."""

    ANSI_136 = 1
    IS_95 = 2
    GSM = 3
    RESERVED = 4
