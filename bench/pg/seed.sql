-- Seeds :seed statuses S1 .. S<seed> for the read phase (bench/pg/read.sql), from the status
-- template :'status' (psql -v). Then a CHECKPOINT, so the timed phases start from a clean WAL.
INSERT INTO filing_status (filing_id, state, version, filing_type, province, status, updated_at)
SELECT 'S' || g, 'provider_review', 1, 'first_filing', '京',
       replace(:'status', '@ID@', 'S' || g)::jsonb, now()
FROM generate_series(1, :seed) AS g;
VACUUM ANALYZE filing_status;
CHECKPOINT;
