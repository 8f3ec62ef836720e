"""The canonical schema, in one place, as an ordered list of migrations.

Migration N brings a database from version N-1 to N. `store.migrate` applies the missing ones
in one transaction and records them in `schema_version`, so opening an older file upgrades it
and opening it again changes nothing. Never edit a released migration: append a new one.

Conventions: money is DECIMAL(18,2) in the client's currency (client.toml); timestamps are
naive local time of the business; `customer_id` is a keyed pseudonym (see `privacy`), never a
raw email, phone or name; `import_id` points at the `imports` row that last wrote the row.
`TABLES` declares each data table's natural key, time column and person column once.
"""

from dataclasses import dataclass

MIGRATIONS: list[str] = [
    # 1: the data model: customers, orders and their lines, campaigns, sends, touches, leads, feedback, spend
    """
    CREATE TABLE customers (
        customer_id VARCHAR NOT NULL,        -- keyed pseudonym of the email (or phone / source id)
        customer_key VARCHAR NOT NULL,       -- short display pseudonym, e.g. C-3f9a2b7c
        first_seen_at TIMESTAMP,
        acquisition_channel VARCHAR,
        region VARCHAR,
        segment VARCHAR,
        persona VARCHAR,
        marketing_consent BOOLEAN,
        source VARCHAR,
        import_id INTEGER
    );
    CREATE TABLE orders (
        order_id VARCHAR NOT NULL,
        customer_id VARCHAR,                 -- NULL for anonymous walk-in sales
        ordered_at TIMESTAMP NOT NULL,
        revenue DECIMAL(18,2) NOT NULL,      -- net of discounts and refunds; refunds negative
        discount DECIMAL(18,2),
        refunded DECIMAL(18,2),
        channel VARCHAR,                     -- sales channel: web, pos, phone, ...
        location VARCHAR,
        source VARCHAR,
        import_id INTEGER
    );
    CREATE TABLE order_items (
        order_id VARCHAR NOT NULL,
        line_no INTEGER NOT NULL,
        product VARCHAR,
        category VARCHAR,
        quantity DOUBLE,
        revenue DECIMAL(18,2),
        import_id INTEGER
    );
    CREATE TABLE campaigns (
        campaign_id VARCHAR NOT NULL,
        name VARCHAR,
        channel VARCHAR,
        started_at TIMESTAMP,
        ended_at TIMESTAMP,
        cost DECIMAL(18,2),
        personalized BOOLEAN,
        personalization_type VARCHAR,
        source VARCHAR,
        import_id INTEGER
    );
    CREATE TABLE campaign_results (         -- per-variant aggregates (e.g. Klaviyo export)
        campaign_id VARCHAR NOT NULL,
        variant VARCHAR NOT NULL,
        recipients BIGINT,
        delivered BIGINT,
        opens BIGINT,
        clicks BIGINT,
        orders BIGINT,
        revenue DECIMAL(18,2),
        unsubscribes BIGINT,
        bounces BIGINT,
        spam_complaints BIGINT,
        is_winner BOOLEAN,
        import_id INTEGER
    );
    CREATE TABLE campaign_sends (           -- one per recipient and campaign
        campaign_id VARCHAR NOT NULL,
        customer_id VARCHAR NOT NULL,
        variant VARCHAR,
        sent_at TIMESTAMP,
        opened_at TIMESTAMP,
        clicked_at TIMESTAMP,
        converted_at TIMESTAMP,
        revenue DECIMAL(18,2),
        unsubscribed BOOLEAN,
        import_id INTEGER
    );
    CREATE TABLE touches (
        customer_id VARCHAR NOT NULL,
        touched_at TIMESTAMP NOT NULL,
        channel VARCHAR NOT NULL,
        campaign_id VARCHAR,
        utm_source VARCHAR,
        utm_medium VARCHAR,
        import_id INTEGER
    );
    CREATE TABLE leads (
        lead_id VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        source VARCHAR,
        location VARCHAR,
        service_requested VARCHAR,
        converted_at TIMESTAMP,
        customer_id VARCHAR,
        import_id INTEGER
    );
    CREATE TABLE feedback (
        feedback_id VARCHAR NOT NULL,
        customer_id VARCHAR,
        submitted_at TIMESTAMP NOT NULL,
        source VARCHAR,
        nps INTEGER,                         -- 0..10
        ces DOUBLE,                          -- customer effort, 1 (easy) .. 7 (hard)
        csat DOUBLE,                         -- 1..5
        rating DOUBLE,                       -- stars 1..5
        text VARCHAR,
        import_id INTEGER
    );
    CREATE TABLE spend (
        spent_on DATE NOT NULL,
        channel VARCHAR NOT NULL,
        campaign_id VARCHAR,
        amount DECIMAL(18,2) NOT NULL,
        import_id INTEGER
    );
    CREATE TABLE web_sessions (
        day DATE NOT NULL,
        channel VARCHAR NOT NULL,
        sessions BIGINT,
        engaged_sessions BIGINT,
        key_events DOUBLE,
        revenue DECIMAL(18,2),
        import_id INTEGER
    );
    CREATE TABLE services (
        service VARCHAR NOT NULL,
        category VARCHAR,
        active BOOLEAN DEFAULT TRUE,
        import_id INTEGER
    );
    CREATE SEQUENCE goal_ids START 1;
    CREATE TABLE goals (
        goal_id INTEGER PRIMARY KEY DEFAULT nextval('goal_ids'),
        metric VARCHAR NOT NULL,
        direction VARCHAR NOT NULL CHECK (direction IN ('increase', 'decrease')),
        baseline_value DOUBLE,
        baseline_start DATE,
        baseline_end DATE,
        target_value DOUBLE,                 -- absolute target, in the metric's unit
        target_change_pct DOUBLE,            -- or a % change from the baseline
        deadline DATE,
        segment VARCHAR,
        note VARCHAR,
        created_at TIMESTAMP DEFAULT current_localtimestamp()
    );
    CREATE SEQUENCE import_ids START 1;
    CREATE TABLE imports (
        import_id INTEGER PRIMARY KEY DEFAULT nextval('import_ids'),
        source VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        rows BIGINT,
        inserted BIGINT,
        updated BIGINT,
        warnings VARCHAR,
        imported_at TIMESTAMP DEFAULT current_localtimestamp()
    );
    """,
    # 2: pseudonyms of 12 characters (the first 72 bits of the same HMAC in URL-safe base64)
    # instead of 32 hex characters, so the new ids equal what `privacy` now computes; and
    # orders stored grouped by customer, as imports now write them. Both make the
    # per-customer groupings of every analysis faster (bench/README.md). Values that are not
    # schema-1 pseudonyms are left as they are.
    """
    CREATE TEMP MACRO id_v2(id) AS CASE WHEN regexp_full_match(id, '[0-9a-f]{32}')
        THEN translate(to_base64(unhex(left(id, 18))), '+/', '-_') ELSE id END;
    UPDATE customers SET customer_id = id_v2(customer_id),
        customer_key = CASE WHEN customer_key = 'C-' || left(customer_id, 8)
                            THEN 'C-' || left(id_v2(customer_id), 8) ELSE customer_key END;
    UPDATE campaign_sends SET customer_id = id_v2(customer_id);
    UPDATE touches SET customer_id = id_v2(customer_id);
    UPDATE leads SET customer_id = id_v2(customer_id);
    UPDATE feedback SET customer_id = id_v2(customer_id);
    CREATE TEMP TABLE orders_v2 AS SELECT * REPLACE (id_v2(customer_id) AS customer_id) FROM orders;
    DELETE FROM orders;
    INSERT INTO orders SELECT * FROM orders_v2 ORDER BY customer_id, ordered_at;
    DROP TABLE orders_v2;
    DROP MACRO id_v2;
    """,
    # 3: orders.cancelled (NULL: the export does not say), so that a cancelled order is not a
    # purchase (analytics/measures.py) whatever its amount.
    """
    ALTER TABLE orders ADD COLUMN cancelled BOOLEAN;
    """,
    # 4: the fingerprint of the salt the pseudonyms are made with (store/clients.py: an HMAC of
    # a fixed label under it, never the salt), so that a lost, replaced or other client's salt
    # is refused before it splits people in two. A file upgraded to 4 records the salt it has
    # at its first write.
    """
    CREATE TABLE salt_fingerprint (
        fingerprint VARCHAR NOT NULL,
        recorded_at TIMESTAMP DEFAULT current_localtimestamp()
    );
    """,
    # 5: the suppression list of forgotten people (`privacy.forget`): every import skips rows
    # whose customer_id is listed. It keeps the SHA-256 of the pseudonym, not the pseudonym,
    # so that the erased pseudonym's bytes leave the file.
    """
    CREATE TABLE forgotten (
        digest VARCHAR PRIMARY KEY,          -- sha256(customer_id), hex
        forgotten_at TIMESTAMP DEFAULT current_localtimestamp()
    );
    """,
    # 6: one goal per KPI and segment (analytics/goal_book.py: saving it again updates it). Goals
    # saved more than once become one, as if the later saves had been updates: the first save's
    # number and baseline (where the goal started), the last save's direction, target, deadline
    # and note; a % target the last save made against another baseline is kept as the absolute
    # value it meant. The table is rebuilt because DuckDB cannot create a unique index over rows
    # deleted in the same transaction.
    """
    CREATE TEMP TABLE goals_v6 AS
    WITH saves AS (
        SELECT *, min(goal_id) OVER same AS first_id, max(goal_id) OVER same AS last_id
        FROM goals WINDOW same AS (PARTITION BY metric, coalesce(segment, ''))
    ),
    first AS (SELECT * FROM saves WHERE goal_id = first_id),
    last AS (SELECT * FROM saves WHERE goal_id = last_id),
    merged AS (
        SELECT first.goal_id, first.metric, last.direction, first.baseline_value,
            first.baseline_start, first.baseline_end, last.target_value, last.target_change_pct,
            last.deadline, first.segment, last.note, first.created_at,
            last.target_change_pct IS NOT NULL AND last.baseline_value IS NOT NULL
                AND last.baseline_value IS DISTINCT FROM first.baseline_value AS rebased,
            last.baseline_value * (1 + last.target_change_pct / 100) AS meant
        FROM first JOIN last ON first.first_id = last.first_id
    )
    SELECT * EXCLUDE (rebased, meant) REPLACE (
        CASE WHEN rebased THEN meant ELSE target_value END AS target_value,
        CASE WHEN rebased THEN NULL ELSE target_change_pct END AS target_change_pct
    ) FROM merged;
    DROP TABLE goals;
    CREATE TABLE goals (
        goal_id INTEGER PRIMARY KEY DEFAULT nextval('goal_ids'),
        metric VARCHAR NOT NULL,
        direction VARCHAR NOT NULL CHECK (direction IN ('increase', 'decrease')),
        baseline_value DOUBLE,
        baseline_start DATE,
        baseline_end DATE,
        target_value DOUBLE,
        target_change_pct DOUBLE,
        deadline DATE,
        segment VARCHAR,
        note VARCHAR,
        created_at TIMESTAMP DEFAULT current_localtimestamp()
    );
    INSERT INTO goals SELECT * FROM goals_v6 ORDER BY goal_id;
    DROP TABLE goals_v6;
    CREATE UNIQUE INDEX goals_identity ON goals (metric, coalesce(segment, ''));
    """,
    # 7: web_sessions.source_medium, GA4's "Session source / medium" ('google / organic'), part
    # of the natural key (an export has one row per day, channel group and source / medium). The
    # channel group may now be NULL: an export by source / medium alone does not give it, and
    # guessing it from the source would be a fact the export does not state. Rows of older files
    # and channel-only exports keep a NULL source / medium.
    """
    ALTER TABLE web_sessions ALTER COLUMN channel DROP NOT NULL;
    ALTER TABLE web_sessions ADD COLUMN source_medium VARCHAR;
    """,
]


@dataclass(frozen=True)
class Table:
    """What the rest of the workbook needs to know about one data table, declared once."""

    key: tuple[str, ...]  # natural key: imports upsert by it, quality counts its duplicates
    time: str | None  # the column that dates a row (None: undated)
    person: str | None = None  # the column naming a person, for `forget`
    free_text: tuple[str, ...] = ()  # free text that may name anyone, redacted by `forget`


TABLES: dict[str, Table] = {
    "customers": Table(("customer_id",), "first_seen_at", "customer_id"),
    "orders": Table(("order_id",), "ordered_at", "customer_id"),
    "order_items": Table(("order_id", "line_no"), None),
    "campaigns": Table(("campaign_id",), "started_at"),
    "campaign_results": Table(("campaign_id", "variant"), None),
    "campaign_sends": Table(("campaign_id", "customer_id"), "sent_at", "customer_id"),
    "touches": Table(("customer_id", "touched_at", "channel", "campaign_id"), "touched_at", "customer_id"),
    "leads": Table(("lead_id",), "created_at", "customer_id"),
    "feedback": Table(("feedback_id",), "submitted_at", "customer_id", ("text",)),
    "spend": Table(("spent_on", "channel", "campaign_id"), "spent_on"),
    "web_sessions": Table(("day", "channel", "source_medium"), "day"),
    "services": Table(("service",), None),
}
DATA_TABLES: list[str] = list(TABLES)
# The customers columns that split customers into groups (cohorts, segment economics, a rollout's
# treated group): the only names analyses may format into SQL as a grouping.
CUSTOMER_GROUPS = ("acquisition_channel", "segment", "region", "persona")
# The tables whose newest row dates the client's data (`store.default_as_of`): what the business
# did, not when a customer record or a campaign was set up.
ACTIVITY_TABLES = ("orders", "leads", "feedback", "campaign_sends", "web_sessions", "spend")
NATURAL_KEYS: dict[str, tuple[str, ...]] = {t: d.key for t, d in TABLES.items()}
# Tables that hold per-person rows, with the column that names the person (for `forget`).
PERSON_COLUMNS: dict[str, str] = {t: d.person for t, d in TABLES.items() if d.person}

LATEST_VERSION = len(MIGRATIONS)
