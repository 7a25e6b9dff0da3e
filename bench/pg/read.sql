-- pgbench script (bench/run): a status read, the PostgreSQL twin of GET /v1/filings/{id}:
-- the status row of one of the :seeded filings (bench/pg/seed.sql), picked at random.
-- pgbench -M prepared -D seeded=N -f read.sql
\set k random(1, :seeded)
SELECT status FROM filing_status WHERE filing_id = 'S' || :k;
