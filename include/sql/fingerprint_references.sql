-- What a publication of a dataset is compared with (covid_etl/load/loader.py, ADR 0005): per date of its
-- scope that a loaded publication has rows of, its reference (of the publications loaded for the date, the
-- latest before it or the earliest after it, whichever was published nearer in time: it differs least)
-- and whether the reference's fingerprints are whole, the reference's fingerprint of the date, the record
-- the publication inherits (the latest one's before it: what it need not write again), and the next
-- publication loaded for the date, if any, and whether that one has a record of the date of its own.
-- Each publication and record is found by walking the publications in their order (an index) and probing
-- the fingerprints' key: a few index lookups per date however many publications were loaded. (Sorting a
-- date's records by their publications' order read all of them: at 330 daily publications that each
-- revised every date, 1.2 s a load against 0.04 s; benchmarks/references_scaling.py.)
-- Parameters: %(dataset)s, %(publication)s (its id), %(first)s and %(last)s (its scope).
WITH me AS (
    SELECT published_at, ident FROM dataset_publications WHERE id = %(publication)s
), others AS (
    SELECT q.first_date, q.last_date
      FROM dataset_publications q
     WHERE q.dataset = %(dataset)s AND q.id <> %(publication)s
       AND q.scope_from <= %(last)s AND q.scope_to >= %(first)s
), days AS (
    SELECT generate_series(greatest(min(first_date), %(first)s::date), least(max(last_date), %(last)s::date),
                           interval '1 day')::date AS date
      FROM others
), refs AS (
    SELECT d.date, n.id AS next_id, p.published_at AS prev_at, p.ident AS prev_ident,
           CASE WHEN n.id IS NULL OR me.published_at - p.published_at <= n.published_at - me.published_at
                THEN p.id ELSE n.id END AS ref_id
      FROM days d
     CROSS JOIN me
      LEFT JOIN LATERAL (SELECT o.id, o.published_at, o.ident FROM dataset_publications o
                          WHERE o.dataset = %(dataset)s AND (o.published_at, o.ident) > (me.published_at, me.ident)
                            AND d.date BETWEEN o.scope_from AND o.scope_to
                          ORDER BY o.published_at, o.ident LIMIT 1) n ON true
      LEFT JOIN LATERAL (SELECT o.id, o.published_at, o.ident FROM dataset_publications o
                          WHERE o.dataset = %(dataset)s AND (o.published_at, o.ident) <= (me.published_at, me.ident)
                            AND o.id <> %(publication)s AND d.date BETWEEN o.scope_from AND o.scope_to
                          ORDER BY o.published_at DESC, o.ident DESC LIMIT 1) p ON true
     WHERE n.id IS NOT NULL OR p.id IS NOT NULL
)
SELECT r.date, r.ref_id,
       EXISTS (SELECT 1 FROM dataset_fingerprinted g WHERE g.dataset = %(dataset)s AND g.publication = r.ref_id),
       f.rows, f.keysum, f.digest, f.blocks, f.chunks,
       h.publication, h.rows, h.digest,
       r.next_id,
       EXISTS (SELECT 1 FROM dataset_fingerprints x
                WHERE x.dataset = %(dataset)s AND x.date = r.date AND x.publication = r.next_id)
  FROM refs r
  JOIN dataset_publications ref ON ref.id = r.ref_id
  LEFT JOIN LATERAL (SELECT f.rows, f.keysum, f.digest, f.blocks, f.chunks
                       FROM dataset_publications q JOIN dataset_fingerprints f
                         ON f.dataset = %(dataset)s AND f.date = r.date AND f.publication = q.id
                      WHERE q.dataset = %(dataset)s AND (q.published_at, q.ident) <= (ref.published_at, ref.ident)
                      ORDER BY q.published_at DESC, q.ident DESC LIMIT 1) f ON true
  LEFT JOIN LATERAL (SELECT f.publication, f.rows, f.digest
                       FROM dataset_publications q JOIN dataset_fingerprints f
                         ON f.dataset = %(dataset)s AND f.date = r.date AND f.publication = q.id
                      WHERE q.dataset = %(dataset)s AND (q.published_at, q.ident) <= (r.prev_at, r.prev_ident)
                      ORDER BY q.published_at DESC, q.ident DESC LIMIT 1) h ON true
 ORDER BY r.date
