-- pgbench script (bench/run): one filing's appends, the PostgreSQL twin of bench/ledger_bench's
-- appenders: a submission, then three follow-up events (photo_rejected), each in its own
-- transaction, so each is durable (synchronous_commit=on, fsync=on) before the next starts.
-- One script execution = 4 appends = 4 commits.
--
-- Each transaction upserts the filing's status row first (which locks it and yields the next
-- version: 1 for the submission), then inserts the event row with that version; the
-- unique(filing_id, version) constraint would refuse a lost race.
--
-- pgbench -M prepared -D n=0 -D submission=JSON -D action=JSON -D status=JSON -f append.sql
-- (JSON templates in bench/pg/*.json; @ID@ is replaced by the filing id). Filing ids are
-- F<client_id * 10^9 + n>, n counting this client's filings: they never collide.
\set n :n + 1
\set fno :client_id * 1000000000 + :n

BEGIN;
INSERT INTO filing_status AS s (filing_id, state, version, filing_type, province, status, updated_at)
  VALUES ('F' || :fno, 'provider_review', 1, 'first_filing', '京',
          replace(:status, '@ID@', 'F' || :fno)::jsonb, now())
  ON CONFLICT (filing_id) DO UPDATE
    SET state = excluded.state, version = s.version + 1, updated_at = excluded.updated_at,
        status = excluded.status || jsonb_build_object('version', s.version + 1)
  RETURNING version AS v \gset
INSERT INTO events (filing_id, version, event_type, actor, payload, occurred_at)
  VALUES ('F' || :fno, :v, 'filing_submitted', 'desk-1',
          replace(:submission, '@ID@', 'F' || :fno)::jsonb, now());
COMMIT;

BEGIN;
INSERT INTO filing_status AS s (filing_id, state, version, filing_type, province, status, updated_at)
  VALUES ('F' || :fno, 'provider_review', 1, 'first_filing', '京',
          replace(:status, '@ID@', 'F' || :fno)::jsonb, now())
  ON CONFLICT (filing_id) DO UPDATE
    SET state = excluded.state, version = s.version + 1, updated_at = excluded.updated_at,
        status = excluded.status || jsonb_build_object('version', s.version + 1, 'photo', 'rejected')
  RETURNING version AS v \gset
INSERT INTO events (filing_id, version, event_type, actor, payload, occurred_at)
  VALUES ('F' || :fno, :v, 'photo_rejected', 'rev-1',
          replace(:action, '@ID@', 'F' || :fno)::jsonb, now());
COMMIT;

BEGIN;
INSERT INTO filing_status AS s (filing_id, state, version, filing_type, province, status, updated_at)
  VALUES ('F' || :fno, 'provider_review', 1, 'first_filing', '京',
          replace(:status, '@ID@', 'F' || :fno)::jsonb, now())
  ON CONFLICT (filing_id) DO UPDATE
    SET state = excluded.state, version = s.version + 1, updated_at = excluded.updated_at,
        status = excluded.status || jsonb_build_object('version', s.version + 1, 'photo', 'rejected')
  RETURNING version AS v \gset
INSERT INTO events (filing_id, version, event_type, actor, payload, occurred_at)
  VALUES ('F' || :fno, :v, 'photo_rejected', 'rev-1',
          replace(:action, '@ID@', 'F' || :fno)::jsonb, now());
COMMIT;

BEGIN;
INSERT INTO filing_status AS s (filing_id, state, version, filing_type, province, status, updated_at)
  VALUES ('F' || :fno, 'provider_review', 1, 'first_filing', '京',
          replace(:status, '@ID@', 'F' || :fno)::jsonb, now())
  ON CONFLICT (filing_id) DO UPDATE
    SET state = excluded.state, version = s.version + 1, updated_at = excluded.updated_at,
        status = excluded.status || jsonb_build_object('version', s.version + 1, 'photo', 'rejected')
  RETURNING version AS v \gset
INSERT INTO events (filing_id, version, event_type, actor, payload, occurred_at)
  VALUES ('F' || :fno, :v, 'photo_rejected', 'rev-1',
          replace(:action, '@ID@', 'F' || :fno)::jsonb, now());
COMMIT;
