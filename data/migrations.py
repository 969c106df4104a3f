"""Numbered schema migrations, applied in order on open.

Each migration is a list of SQL statements. A migration runs inside one transaction together
with the row that records it in ``schema_version``, so a crash leaves the schema either
before or after it, never half-way. Never edit a released migration: add a new one.
"""

from __future__ import annotations

from data.rollup_schema import mention_migration_statements as _mention_rollup_statements
from data.rollup_schema import migration_statements as _rollup_statements
from data.rollup_schema import signal_migration_statements as _signal_rollup_statements
from data.rollup_schema import source_migration_statements as _source_rollup_statements

MIGRATIONS: dict[int, list[str]] = {
    1: [
        # Customers of our API. `segment` is the pricing segment (each has its own true
        # price elasticity in the demo data); `industry` is descriptive.
        """
        CREATE TABLE customers (
            customer_id   VARCHAR PRIMARY KEY,
            name          VARCHAR NOT NULL,
            segment       VARCHAR NOT NULL,
            industry      VARCHAR NOT NULL,
            plan          VARCHAR NOT NULL,
            region        VARCHAR NOT NULL,
            size          INTEGER NOT NULL,   -- employees
            signup_month  DATE NOT NULL,
            churn_month   DATE                -- NULL while active
        )
        """,
        # Monthly usage per customer; `month` is the first day of the month.
        """
        CREATE TABLE usage (
            customer_id    VARCHAR NOT NULL,
            month          DATE NOT NULL,
            plan           VARCHAR NOT NULL,
            requests       BIGINT NOT NULL,
            input_tokens   BIGINT NOT NULL,
            output_tokens  BIGINT NOT NULL,
            price_per_m    DOUBLE NOT NULL,   -- blended list price paid, USD per 1M tokens
            revenue        DOUBLE NOT NULL,   -- USD
            PRIMARY KEY (customer_id, month)
        )
        """,
        # Our own list prices per plan over time (valid_to NULL = current).
        """
        CREATE TABLE price_history (
            plan                VARCHAR NOT NULL,
            valid_from          DATE NOT NULL,
            valid_to            DATE,
            input_price_per_m   DOUBLE NOT NULL,
            output_price_per_m  DOUBLE NOT NULL,
            price_per_m         DOUBLE NOT NULL,  -- blended at the plan's typical input:output mix
            PRIMARY KEY (plan, valid_from)
        )
        """,
        # Support tickets. ticket_key is a content hash (see data.keys.ticket_key).
        """
        CREATE TABLE tickets (
            ticket_key          VARCHAR PRIMARY KEY,
            source_id           VARCHAR,          -- the id given in the upload, if any
            customer_id         VARCHAR,
            created_at          TIMESTAMP,
            channel             VARCHAR,
            category            VARCHAR,
            priority            VARCHAR,
            subject             VARCHAR,
            text                VARCHAR NOT NULL,
            resolution_minutes  DOUBLE,
            resolved_by         VARCHAR,          -- 'human' | 'ai' | NULL (open / unknown)
            source              VARCHAR NOT NULL, -- 'demo' or the uploaded file's name
            ingested_at         TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
        # Ground-truth spans of generated tickets (training and evaluation of the tagger).
        """
        CREATE TABLE gold_entities (
            ticket_key  VARCHAR NOT NULL,
            start       INTEGER NOT NULL,
            "end"       INTEGER NOT NULL,
            label       VARCHAR NOT NULL,
            text        VARCHAR NOT NULL,
            PRIMARY KEY (ticket_key, start, "end", label)
        )
        """,
        # Entities found by a tagger (model_id names the model artefact).
        """
        CREATE TABLE entities (
            ticket_key  VARCHAR NOT NULL,
            model_id    VARCHAR NOT NULL,
            start       INTEGER NOT NULL,
            "end"       INTEGER NOT NULL,
            label       VARCHAR NOT NULL,
            text        VARCHAR NOT NULL,
            score       DOUBLE NOT NULL,
            PRIMARY KEY (ticket_key, model_id, start, "end", label)
        )
        """,
        # Which tickets a model has processed (also those with no entity), written in the
        # same transaction as their entities: this is what makes tagging resumable.
        """
        CREATE TABLE tagged_tickets (
            ticket_key  VARCHAR NOT NULL,
            model_id    VARCHAR NOT NULL,
            run_id      VARCHAR NOT NULL,
            tagged_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (ticket_key, model_id)
        )
        """,
        """
        CREATE TABLE tagging_runs (
            run_id       VARCHAR PRIMARY KEY,
            model_id     VARCHAR NOT NULL,
            device       VARCHAR NOT NULL,
            started_at   TIMESTAMP NOT NULL,
            finished_at  TIMESTAMP,
            status       VARCHAR NOT NULL,  -- 'running' | 'done' | 'failed' | 'interrupted'
            tickets      BIGINT NOT NULL DEFAULT 0,
            entities     BIGINT NOT NULL DEFAULT 0,
            message      VARCHAR
        )
        """,
        # Saved what-if scenarios: params is the JSON of analytics' Scenario dataclass.
        """
        CREATE TABLE scenarios (
            name        VARCHAR PRIMARY KEY,
            params      JSON NOT NULL,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
        # Real competitor list prices (reference data), USD and original currency.
        """
        CREATE TABLE competitor_prices (
            vendor                   VARCHAR NOT NULL,
            model_id                 VARCHAR NOT NULL,
            model_name               VARCHAR NOT NULL,
            currency                 VARCHAR NOT NULL,   -- 'USD' | 'CNY' | ...
            input_price              DOUBLE,             -- original currency per 1M tokens
            output_price             DOUBLE,
            input_price_usd          DOUBLE,
            output_price_usd         DOUBLE,
            cached_input_price_usd   DOUBLE,
            valid_from               DATE,               -- NULL = since before the record
            valid_to                 DATE,               -- NULL = still valid
            source                   VARCHAR NOT NULL
        )
        """,
        # Uploaded files already ingested (content hash), so a re-upload is recognised.
        """
        CREATE TABLE ingested_files (
            file_hash    VARCHAR PRIMARY KEY,
            file_name    VARCHAR NOT NULL,
            rows         BIGINT NOT NULL,
            new_tickets  BIGINT NOT NULL,
            ingested_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
        "CREATE INDEX tickets_created ON tickets (created_at)",
        "CREATE INDEX tickets_customer ON tickets (customer_id)",
        "CREATE INDEX entities_label ON entities (model_id, label)",
    ],
    2: [
        # The audit trail (data.audit): who did what, when, from the app or the command
        # line. Rows are only ever added; `at` is UTC.
        "CREATE SEQUENCE audit_log_id START 1",
        """
        CREATE TABLE audit_log (
            id      BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id'),
            "at"    TIMESTAMP NOT NULL,                -- UTC (a keyword: always quoted)
            actor   VARCHAR NOT NULL,                  -- e-mail address, or 'os:<user>' (CLI)
            role    VARCHAR,                           -- 'viewer' | 'analyst' | 'admin' | NULL
            source  VARCHAR NOT NULL CHECK (source IN ('app', 'cli')),
            action  VARCHAR NOT NULL,                  -- data.audit.ACTIONS
            target  VARCHAR,                           -- file, scenario, model, ...
            detail  VARCHAR                            -- outcome, in words
        )
        """,
    ],
    3: [
        # Sentiment of a ticket ('negative' | 'neutral' | 'positive'), by a model: the tagger's
        # second head writes it in the same transaction as the entities (ticket_key,
        # model_id) — resumable and idempotent like `entities`.
        """
        CREATE TABLE ticket_sentiment (
            ticket_key  VARCHAR NOT NULL,
            model_id    VARCHAR NOT NULL,
            label       VARCHAR NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
            score       DOUBLE NOT NULL,   -- the model's probability of `label`
            PRIMARY KEY (ticket_key, model_id)
        )
        """,
        # Ground truth of generated tickets (data.demo), beside gold_entities: the sentiment
        # the generator planted, and why (`origin`: 'ticket' = drawn from the ticket's
        # category, competitor mention and the customer's negative experiences that month;
        # 'experience' = a complaint about a planted negative experience; 'surge' = one of the
        # planted surges, `surge_id` in demo_surges).
        """
        CREATE TABLE gold_sentiment (
            ticket_key  VARCHAR PRIMARY KEY,
            label       VARCHAR NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
            origin      VARCHAR NOT NULL CHECK (origin IN ('ticket', 'experience', 'surge')),
            surge_id    INTEGER
        )
        """,
        # The surges of negative tickets the demo generator planted: what (`kind`), where
        # (`dimension` 'region' | 'segment' | 'product' | 'competitor' and its `value`),
        # the days of the burst (`start_day`..`end_day`, inclusive), the last day the data stay
        # raised because of it (`effect_end`: a competitor cut keeps mentions up for weeks),
        # and how many tickets it added.
        """
        CREATE TABLE demo_surges (
            surge_id     INTEGER PRIMARY KEY,
            kind         VARCHAR NOT NULL,
            dimension    VARCHAR NOT NULL,
            value        VARCHAR NOT NULL,
            start_day    DATE NOT NULL,
            end_day      DATE NOT NULL,
            effect_end   DATE NOT NULL,
            tickets      INTEGER NOT NULL,
            description  VARCHAR NOT NULL
        )
        """,
        # The demo's churn ground truth per customer and month (from sign-up to churn):
        # planted negative experiences that month, the exposure to competitor price cuts of
        # the customer's segment, and the monthly churn hazard that applied (data.demo).
        """
        CREATE TABLE demo_churn_truth (
            customer_id   VARCHAR NOT NULL,
            month         DATE NOT NULL,
            experiences   INTEGER NOT NULL,
            cut_exposure  DOUBLE NOT NULL,
            hazard        DOUBLE NOT NULL,
            PRIMARY KEY (customer_id, month)
        )
        """,
    ],
    # Roll-ups the pages read instead of scanning tickets and entities (data.rollups: what
    # each holds), filled from the data already in the store. Later changes to their
    # definitions need a new migration that drops and recreates the tables it changes (as
    # data.rollup_schema.source_migration_statements does for rollup_source_entities).
    4: _rollup_statements(),
    # The signals' roll-up (data.rollups: rollup_signal_days, tickets with a sentiment label
    # per source, day and customer) for the Signals page and the Overview's alert count,
    # filled from the data already in the store; rollup_state learns the sentiment counts.
    5: _signal_rollup_statements(),
    # The entity-mention roll-ups (data.rollups, part 'mentions': per sentiment and entity
    # source, day and customer, the products and competitors named; per month and segment,
    # the tickets naming each competitor) and entity_names, the competitor or product each
    # ORG/PRODUCT text names. Created empty and stale (the matcher is Python): `python -m
    # data rollups` fills them; until then the pages read the base tables.
    6: _mention_rollup_statements(),
    # Entity rows per model and batch (data.rollups: rollup_source_entities, part 'tags'),
    # which the Settings page's reset choices count instead of joining every entity to its
    # ticket; filled from the data already in the store.
    7: _source_rollup_statements(),
    # An index of the entities by ticket: the ticket lists read the entities of the tickets
    # they show by key (analytics.explore.entity_lookup.entities_of_tickets: an IN list of the keys, which
    # DuckDB answers from the index) instead of scanning every entity row. Dropped first, so
    # a store whose version rows were set back gets it afresh.
    8: [
        "DROP INDEX IF EXISTS entities_ticket",
        "CREATE INDEX entities_ticket ON entities (ticket_key)",
    ],
}

LATEST_VERSION: int = max(MIGRATIONS)
