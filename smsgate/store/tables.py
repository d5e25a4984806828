"""The schema, as SQLAlchemy Core tables. Instants are epoch milliseconds (BigInteger): portable
between SQLite and PostgreSQL, sortable, and free of time zone surprises."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("username", String(100), unique=True),
    Column("password_hash", String(200)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", BigInteger, nullable=False),
    # money (domain/pricing.py): amounts in micro-units of the plan's currency; NULL plan: "default"
    Column("plan", String(64)),
    Column("prepaid", Boolean, nullable=False, server_default=false()),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("credit_limit", BigInteger),  # postpaid only: how far below zero it may go; NULL: no limit
    # SMPP binds' own credentials (SMPP 3.4: system_id up to 15, password up to 8 characters); an
    # account without them cannot bind
    Column("smpp_system_id", String(15)),
    Column("smpp_password_hash", String(200)),
    # the legacy API's delivery report URL (seed 004's "Edit Profile" setting); NULL: reports pulled
    Column("legacy_report_url", Text),
)
Index("ix_accounts_smpp_system_id", accounts.c.smpp_system_id, unique=True)

# Price plans: the config's [[plans]] are stored at start when absent; the admin API and CLI change them
# here. ``version`` grows with every change, so each process's plan cache sees one by polling max(version).
plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("inbound_price", BigInteger, nullable=False, default=0),
    Column("lookup_price", BigInteger, nullable=False, default=0),
    Column("version", BigInteger, nullable=False, default=0),
    Column("updated_at", BigInteger, nullable=False),
)

plan_prices = Table(
    "plan_prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(32)),
    Column("mcc_mnc", String(6)),
    Column("price", BigInteger, nullable=False),
)
Index("ix_plan_prices_plan", plan_prices.c.plan_id)

# Every change of a balance: charges (negative), refunds, top-ups, inbound and lookup charges. The sum
# of an account's rows is its balance. A charge row covers one send request's accepted messages.
LEDGER_KINDS = ("charge", "refund", "credit", "inbound", "lookup")
ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),  # micros, signed
    Column("currency", String(3), nullable=False),
    Column("messages", Integer, nullable=False, default=0),  # message parts' messages it covers
    Column("reference", String(200)),  # bulkId or messageId
    Column("note", Text),
)
Index("ix_ledger_account", ledger.c.account_id, ledger.c.id)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    # space-separated scope names (domain/scopes.py); NULL: every scope, as Infobip's default key
    Column("scopes", Text),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# report_state: whether and how the final report leaves the gateway. A message with a notify URL gets
# its report pushed (PUSH until the receiver takes it, then PUSHED, or PUSH_FAILED after the last
# retry); the pull endpoints only hand out PULL reports, as with Infobip.
REPORT_NONE, REPORT_PULL, REPORT_TAKEN, REPORT_PUSH, REPORT_PUSHED, REPORT_PUSH_FAILED = 0, 1, 2, 3, 4, 5

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("bulk_id", String(200)),
    Column("api_version", String(4), nullable=False),
    Column("sender", String(32), nullable=False),
    Column("destination", String(32), nullable=False),
    Column("text", Text),
    Column("binary_hex", Text),
    Column("data_coding", SmallInteger, nullable=False, default=0),
    # binary content is unpacked GSM septets, not octets (domain.messages.binary_is_septets, at accept)
    Column("binary_septets", Boolean, nullable=False, default=False),
    Column("esm_class", SmallInteger, nullable=False, default=0),
    Column("flash", Boolean, nullable=False, default=False),
    Column("language_code", String(16)),
    Column("single_shift", Boolean, nullable=False, default=False),
    Column("locking_shift", Boolean, nullable=False, default=False),
    Column("transliteration", String(32)),
    Column("callback_data", Text),
    Column("notify_url", Text),
    # a domain.messages.ReportChannel value; NULL: reports are pulled
    Column("report_channel", String(16)),
    Column("notify_content_type", String(40)),
    Column("intermediate_report", Boolean, nullable=False, default=False),
    Column("sms_count", Integer, nullable=False),
    Column("status_id", Integer, nullable=False),
    Column("error_id", Integer, nullable=False, default=0),
    Column("mcc_mnc", String(8)),
    Column("price_per_message", Float),
    Column("currency", String(3)),
    Column("connector", String(64)),
    Column("remote_id", String(64)),  # the operator's id for the message (an SMPP message_id)
    Column("delivery_window", Text),  # JSON {days, from, to} as given; dispatch waits for it to open
    Column("created_at", BigInteger, nullable=False),
    Column("send_at", BigInteger),
    Column("valid_until", BigInteger),
    Column("submitted_at", BigInteger),
    # set just before the first submit_sm of an attempt goes out, cleared once its answer is recorded
    # (or it is rescheduled): still set after a crash, it says the outcome is unknown
    Column("sending_at", BigInteger),
    Column("done_at", BigInteger),
    Column("report_state", SmallInteger, nullable=False, default=REPORT_NONE),
    # TON and NPI the client chose (the legacy API's srcton, srcnpi, destton, destnpi); NULL: the
    # connector's settings, else what the address says (smpp/address.py)
    Column("source_ton", SmallInteger),
    Column("source_npi", SmallInteger),
    Column("dest_ton", SmallInteger),
    Column("dest_npi", SmallInteger),
    # what the connector that took it charges us per part (its cost price list), as price_per_message
    # is what the customer pays per part; NULL: unknown
    Column("cost_per_message", Float),
    UniqueConstraint("account_id", "message_id", name="uq_messages_account_message_id"),
)
Index("ix_messages_account_created", messages.c.account_id, messages.c.created_at)
Index("ix_messages_reports", messages.c.account_id, messages.c.report_state, messages.c.done_at)
Index("ix_messages_bulk", messages.c.account_id, messages.c.bulk_id)
Index("ix_messages_remote", messages.c.connector, messages.c.remote_id)
Index("ix_messages_valid_until", messages.c.valid_until)

# The network's ids of the earlier parts of a multipart message (the last part's id is the message's
# remote_id), so their receipts still match after a restart.
message_parts = Table(
    "message_parts",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("part_id", String(64), primary_key=True),
    Column("message_pk", BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
)
Index("ix_message_parts_message", message_parts.c.message_pk)

# The report pushes of a message that failed, and the one taken after them, with their answers (the
# console's timeline): written in the transaction that settles the try (one executemany per batch);
# a push taken on its first try has no row (report_state PUSHED says it)
push_attempts = Table(
    "push_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("message_pk", BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),  # 1: the first try
    Column("ok", Boolean, nullable=False),
    Column("answer", Text, nullable=False),  # "200", "HTTP 500", "ConnectTimeout: ...", a refusal
    Column("url", Text),
    Column("next_retry_at", BigInteger),  # NULL: no retry (taken, or given up)
)
Index("ix_push_attempts_message", push_attempts.c.message_pk)
Index("ix_push_attempts_at", push_attempts.c.at)

# Receipts whose id matched no message when they came, acknowledged all the same: a submit whose
# answer is being committed (maybe by another process) matches them then; the rest are the network's
# word on ids we never recorded (a crash between the answer and its commit), kept for inspection.
unmatched_receipts = Table(
    "unmatched_receipts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("connector", String(64), nullable=False),
    Column("remote_id", String(64), nullable=False),
    Column("status_id", Integer, nullable=False),
    Column("error_id", Integer, nullable=False),
    Column("received_at", BigInteger, nullable=False),
)
Index("ix_unmatched_receipts_remote", unmatched_receipts.c.connector, unmatched_receipts.c.remote_id)
Index("ix_unmatched_receipts_received", unmatched_receipts.c.received_at)

# Bulks with a schedule: what the bulk management endpoints read and change. Only the states a user
# sets (PAUSED, CANCELED) are stored; PENDING, PROCESSING and FINISHED follow from the messages.
bulks = Table(
    "bulks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("bulk_id", String(200), nullable=False),
    Column("send_at", BigInteger),
    Column("state", String(16), nullable=False, default="ACTIVE"),
    Column("speed_limit", Text),  # JSON {amount, timeUnit}
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "bulk_id", name="uq_bulks_account_bulk_id"),
)

# Inbound numbers an account owns, and what happens to messages sent to them.
inbound_numbers = Table(
    "inbound_numbers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("number", String(32), nullable=False, unique=True),
    Column("keywords", Text),  # comma-separated, matched case-insensitively against the first word
    Column("action", String(16), nullable=False, default="pull"),  # pull | forward
    Column("forward_url", Text),
    Column("forward_method", String(8)),  # POST (MO JSON/XML body) | GET (templated URL)
    Column("forward_content_type", String(40)),
    Column("price", Float, nullable=False, default=0.0),
    Column("created_at", BigInteger, nullable=False),
)

# inbound state: kept for pull (then TAKEN), or forwarded (FORWARD until the receiver takes it)
INBOUND_PULL, INBOUND_TAKEN, INBOUND_FORWARD, INBOUND_FORWARDED, INBOUND_FORWARD_FAILED = 0, 1, 2, 3, 4

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("sender", String(32), nullable=False),
    Column("receiver", String(32), nullable=False),
    Column("text", Text),
    Column("clean_text", Text),
    Column("keyword", String(64)),
    Column("binary_hex", Text),
    Column("data_coding", SmallInteger, nullable=False, default=0),
    Column("esm_class", SmallInteger, nullable=False, default=0),
    Column("sms_count", Integer, nullable=False, default=1),
    Column("price", Float, nullable=False, default=0.0),
    Column("currency", String(3)),
    Column("received_at", BigInteger, nullable=False),
    Column("state", SmallInteger, nullable=False, default=INBOUND_PULL),
    # "<connector>:<the upstream's messageId>" of a message an upstream HTTP connector forwarded: a
    # forward repeated (its answer lost) is taken once
    Column("upstream_id", String(200)),
)
Index("uq_inbound_upstream_id", inbound_messages.c.upstream_id, unique=True)
Index(
    "ix_inbound_account_state",
    inbound_messages.c.account_id,
    inbound_messages.c.state,
    inbound_messages.c.received_at,
)

# Number lookups (``/number/1/query``, ``/number/1/notify``, the legacy HLR query): one row per looked-up
# number, kept for the logs for the retention. ``details`` holds the result's network fields as the
# account's package shows them (JSON, NcResponseDetails' keys); a notify or HLR row's push target is
# notify_url (the account's HLR report URL when the query came).
lookups = Table(
    "lookups",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("bulk_id", String(200), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("destination", String(256), nullable=False),
    Column("channel", String(8), nullable=False),  # query | notify | hlr
    Column("mcc_mnc", String(8)),
    Column("status_id", Integer, nullable=False),
    Column("error_id", Integer, nullable=False, default=0),
    Column("details", Text),
    Column("price", Float),
    Column("currency", String(3)),
    Column("notify_url", Text),
    Column("notify_content_type", String(40)),
    Column("created_at", BigInteger, nullable=False),
    Column("done_at", BigInteger),
)
Index("ix_lookups_account_created", lookups.c.account_id, lookups.c.created_at)
Index("ix_lookups_account_bulk", lookups.c.account_id, lookups.c.bulk_id)

# Per account: its number lookup package (NULL: every field) and the URL HLR reports are POSTed to.
lookup_accounts = Table(
    "lookup_accounts",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("package", String(16)),
    Column("hlr_report_url", Text),
)

# The network each number is on now, as routing by current network last looked it up (shared by every
# gateway process on the database); an entry older than routing_lookup_ttl_hours is looked up again.
number_networks = Table(
    "number_networks",
    metadata,
    Column("msisdn", String(32), primary_key=True),
    Column("mcc_mnc", String(8)),  # NULL: the lookup named no network
    Column("looked_up_at", BigInteger, nullable=False),
)

# The gateway's work queue. A row is a piece of work due at due_at; a worker leases it (lease_until)
# while it works, so a crashed worker's row comes back when the lease runs out.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    # the work is about one message, one inbound message, or one number lookup
    Column("message_pk", BigInteger, ForeignKey("messages.id", ondelete="CASCADE")),
    Column("inbound_pk", BigInteger, ForeignKey("inbound_messages.id", ondelete="CASCADE")),
    Column("lookup_pk", BigInteger, ForeignKey("lookups.id", ondelete="CASCADE")),
    Column("due_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("payload", Text),
    # dispatch only: set when a process without this connector's binds handed the job to those that
    # hold them (engine/cluster.py); NULL: any process may take it
    Column("connector", String(100)),
)
Index("ix_jobs_kind_due", jobs.c.kind, jobs.c.due_at)
Index("ix_jobs_message", jobs.c.message_pk)

# URL shortening and conversion tracking (issue 15). Kept link_retention_days, longer than the
# messages (48 h logs): they copy what a click or a conversion needs from the message, and refer to
# it by (account_id, message_id) without a foreign key, so the janitor's purge of messages leaves them.
short_links = Table(
    "short_links",
    metadata,
    Column("code", String(16), primary_key=True),  # domain.shortlinks: random, unguessable
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("bulk_id", String(200)),
    Column("destination", String(32), nullable=False),
    Column("url", Text, nullable=False),  # the original URL the link redirects to
    Column("track_clicks", Boolean, nullable=False, default=True),
    Column("tracking_url", Text),  # clicks are pushed here (UrlTrackingWebhook)
    Column("callback_data", Text),
    Column("tracking_type", String(100)),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_short_links_bulk", short_links.c.account_id, short_links.c.bulk_id)
Index("ix_short_links_created", short_links.c.created_at)

link_clicks = Table(
    "link_clicks",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("bulk_id", String(200)),
    Column("destination", String(32), nullable=False),
    Column("tracking_type", String(100)),
    Column("clicked_at", BigInteger, nullable=False),
    Column("device_type", String(16)),
    Column("os", String(64)),
    Column("device_name", String(100)),
    Column("geo", Text),  # JSON geoLocationInfo, NULL without a GeoIP database
)
Index("ix_link_clicks_bulk", link_clicks.c.account_id, link_clicks.c.bulk_id)
Index("ix_link_clicks_clicked", link_clicks.c.clicked_at)

# messages marked for conversion tracking, and their conversion once the sender confirms it
tracked_messages = Table(
    "tracked_messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("bulk_id", String(200)),
    Column("destination", String(32), nullable=False),
    Column("process_key", String(100), nullable=False),
    Column("tracking_type", String(100)),
    Column("created_at", BigInteger, nullable=False),
    Column("converted_at", BigInteger),
    UniqueConstraint("account_id", "message_id", name="uq_tracked_account_message_id"),
)
Index("ix_tracked_bulk", tracked_messages.c.account_id, tracked_messages.c.bulk_id)
Index("ix_tracked_created", tracked_messages.c.created_at)

# Several gateway processes on one database (engine/cluster.py). Instants in these three tables are
# the database's clock (PostgreSQL clock_timestamp()), not the gateway's test clock: leases between
# hosts must not depend on their clocks agreeing.
gateway_nodes = Table(
    "gateway_nodes",
    metadata,
    Column("node_id", String(200), primary_key=True),
    Column("connectors", Text, nullable=False, server_default=""),  # the SMPP connectors it configures
    Column("pid", Integer, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("seen_until", BigInteger, nullable=False),  # alive until then unless it beats again
)

# one row per bind a connector may have (binds = N: slots 0..N-1), held by one process at a time
connector_binds = Table(
    "connector_binds",
    metadata,
    Column("connector", String(100), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("holder", String(200)),
    Column("lease_until", BigInteger, nullable=False, server_default="0"),
    Column("bound", Boolean, nullable=False, server_default=false()),  # the holder's link is bound
)

# request times of a rate limit shared by every process (the logs throttle): a sliding window
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("at", BigInteger, nullable=False),
)
Index("ix_rate_hits_key_at", rate_hits.c.key, rate_hits.c.at)

# SMPP customers' sessions in every process (smpp_max_binds across processes); rows of a node that
# stopped beating in gateway_nodes do not count
customer_binds = Table(
    "customer_binds",
    metadata,
    Column("node_id", String(200), primary_key=True),
    Column("session", String(64), primary_key=True),
    Column("account_id", Integer, nullable=False),
    Column("bound_at", BigInteger, nullable=False),
)
Index("ix_customer_binds_account", customer_binds.c.account_id)
