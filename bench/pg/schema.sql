-- The PostgreSQL side of bench/run: filingd's append and read workload on an events table.
-- One row per event (seq, the filing's own version, unique(filing_id, version), a unique
-- event_id as filingd's idempotency key), and each filing's current status in a second table,
-- upserted in the same transaction as the event (bench/pg/append.sql).
DROP TABLE IF EXISTS events, filing_status;

CREATE TABLE events (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  filing_id   text        NOT NULL,
  version     integer     NOT NULL,
  event_id    uuid        NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  event_type  text        NOT NULL,
  actor       text        NOT NULL,
  payload     jsonb       NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (filing_id, version)
);

CREATE TABLE filing_status (
  filing_id   text        PRIMARY KEY,
  state       text        NOT NULL,
  version     integer     NOT NULL,
  filing_type text        NOT NULL,
  province    text        NOT NULL,
  status      jsonb       NOT NULL,
  updated_at  timestamptz NOT NULL
);
