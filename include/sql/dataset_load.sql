-- The steps of loading one publication of a dataset (covid_etl/load/loader.py), rendered from the
-- dataset's description by covid_etl/sql.py and run in the load's transaction, section by section.
-- The loader has filled these temporary tables:
--   incoming   the publication's rows that may differ from {table} (all of them, or only those whose
--              lines the table's fingerprints did not have), with each key's CRC-32 (keycrc) when known
--   load_days  per date of the publication's scope that the publication or the table has: the
--              publication's rows and those of them sent, whether all of its keys of that date are in
--              incoming or day_keys (checked), and what the fingerprints say (old_rows, kept_rows,
--              old_keysum, new_keysum)
--   day_keys   the keys of the publication's dates that are checked but whose rows are not in incoming
--   load_refs  per date that a later publication was loaded for (a backfill's publication), its
--              reference: the latest publication before it loaded for the date or the earliest after
--              it, whichever was published nearer in time (include/sql/fingerprint_references.sql),
--              and whether the date is outside the reference's first and last dates (ref_empty: it
--              had no key of the date)
-- %(publication)s is the publication's id in dataset_publications.
--
-- Each date is compared with its reference: the table (the newest publication's), or for the dates of
-- load_refs their reference. A reference's keys are the table's, save those a publication after it
-- changed: load_reference holds them as they were at it (the section reference; empty without load_refs).
-- A date its reference had no rows of (ref_empty) has no key at the reference: it needs no such rows.

-- name: changed_table
-- The publication's rows that differ from the table: new keys (existed false) and new values, filled by
-- changed_between, day range by day range as the rows are sent.
CREATE TEMPORARY TABLE load_changed ON COMMIT DROP AS
SELECT {key:i.}, {values:i.=new_}, {values:t.=old_}, t.date IS NOT NULL AS existed, i.keycrc
  FROM incoming i, {table} t
  WITH NO DATA;
CREATE TEMPORARY TABLE load_reference ON COMMIT DROP AS
SELECT {key:t.}, true AS present, {values:t.}, true AS table_present, {values:t.=table_}
  FROM {table} t
  WITH NO DATA;
ANALYZE load_reference;

-- name: changed_between
-- The rows sent for the dates from first to last that differ from the table (existed: the table has the
-- key), read from incoming's page from_page on: incoming has no index to keep, and the pages it has now,
-- returned, are where the next batch's rows begin (the last of them may have room for some). A few days'
-- rows are looked up by index; when every row was sent (and incoming analyzed first), the table is read
-- whole.
WITH changed AS (
    INSERT INTO load_changed
    SELECT {key:i.}, {values:i.=new_}, {values:t.=old_}, t.date IS NOT NULL AS existed, i.keycrc
      FROM incoming i
      LEFT JOIN {table} t ON ({key:t.}) = ({key:i.})
     WHERE i.ctid >= %(from_page)s::tid AND i.date BETWEEN %(first)s AND %(last)s
       AND (t.date IS NULL OR ({values:t.}) IS DISTINCT FROM ({values:i.}))
)
SELECT pg_relation_size('incoming') / current_setting('block_size')::integer;

-- name: changed_between_references
-- The same, compared with their references where load_refs has any (a backfill's publication): a key of
-- load_reference as it has it, any other as the table has it (none on a date its reference had no rows of).
WITH changed AS (
    INSERT INTO load_changed
    SELECT {key:i.}, {values:i.=new_}, {reference_old_values}, {reference_present} AS existed, i.keycrc
      FROM incoming i
      LEFT JOIN load_refs f ON f.date = i.date AND f.ref_empty
      LEFT JOIN {table} t ON ({key:t.}) = ({key:i.}) AND f.date IS NULL
      LEFT JOIN load_reference r ON ({key:r.}) = ({key:i.}) AND r.date BETWEEN %(first)s AND %(last)s
     WHERE i.ctid >= %(from_page)s::tid AND i.date BETWEEN %(first)s AND %(last)s
       AND (NOT {reference_present} OR ({reference_values}) IS DISTINCT FROM ({values:i.}))
)
SELECT pg_relation_size('incoming') / current_setting('block_size')::integer;

-- name: sent_analyzed
-- The statistics of the rows sent, for the plans of the comparison of many rows and of the steps after.
ANALYZE incoming;

-- name: changed_analyzed
-- The statistics of the rows that differ, for the plans of the steps after.
ANALYZE load_changed;

-- name: days_to_check
-- Per date compared through fingerprints: keys the publication dropped (dropped > 0), or a key given
-- twice (dropped < 0, or key sums that disagree), which the loader then reads the day's keys for. Of
-- the rows sent, those of new keys are in load_changed; the others are keys the table has.
SELECT d.date, d.old_rows - d.kept_rows - (d.sent - count(c.date)) AS dropped,
       d.old_keysum + coalesce(sum(c.keycrc), 0) - d.new_keysum AS keysum_off
  FROM load_days d
  LEFT JOIN load_changed c ON c.date = d.date AND NOT c.existed
 WHERE NOT d.checked
 GROUP BY d.date, d.old_rows, d.kept_rows, d.sent, d.old_keysum, d.new_keysum
HAVING d.old_rows - d.kept_rows - (d.sent - count(c.date)) <> 0
    OR d.old_keysum + coalesce(sum(c.keycrc), 0) - d.new_keysum <> 0;

-- name: place
-- Per date, the publications loaded before and after this one that cover it (publication order).
CREATE TEMPORARY TABLE load_order ON COMMIT DROP AS
SELECT d.date, d.rows,
       prev.id AS prev_id, prev.published_at AS prev_at, prev.ident AS prev_ident,
       next.id AS next_id, next.published_at AS next_at, next.ident AS next_ident
  FROM load_days d
 CROSS JOIN (SELECT published_at, ident FROM dataset_publications WHERE id = %(publication)s) me
  LEFT JOIN LATERAL (SELECT q.id, q.published_at, q.ident
                       FROM dataset_publications q
                      WHERE q.dataset = '{dataset}' AND q.id <> %(publication)s
                        AND d.date BETWEEN q.scope_from AND q.scope_to
                        AND (q.published_at, q.ident) < (me.published_at, me.ident)
                      ORDER BY q.published_at DESC, q.ident DESC
                      LIMIT 1) prev ON true
  LEFT JOIN LATERAL (SELECT q.id, q.published_at, q.ident
                       FROM dataset_publications q
                      WHERE q.dataset = '{dataset}' AND q.id <> %(publication)s
                        AND d.date BETWEEN q.scope_from AND q.scope_to
                        AND (q.published_at, q.ident) > (me.published_at, me.ident)
                      ORDER BY q.published_at, q.ident
                      LIMIT 1) next ON true;
-- A date this publication has no rows of, between two publications that have none either (a publication
-- has none outside its first and last date), changes nothing: no key was there before it, in it or after
-- it. A backfill's publication loaded after a newer one leaves out the newer one's later dates this way.
DELETE FROM load_order o
 USING dataset_publications n
 WHERE n.id = o.next_id AND o.rows = 0
   AND o.date NOT BETWEEN coalesce(n.first_date, 'infinity') AND coalesce(n.last_date, '-infinity')
   AND (o.prev_id IS NULL
        OR NOT EXISTS (SELECT 1 FROM dataset_publications p
                        WHERE p.id = o.prev_id AND o.date BETWEEN p.first_date AND p.last_date));
ALTER TABLE load_order ADD PRIMARY KEY (date);
ANALYZE load_order;

-- name: reference
-- The keys of load_refs' dates that a publication after the reference changed, as they were at the
-- reference: as the earliest of those changes found them; and as the table has them (table_): as the
-- latest of them left them. Not on the dates the reference had no rows of: every key was absent then.
ANALYZE load_refs;
INSERT INTO load_reference
SELECT DISTINCT ON ({key:e.}) {key:e.}, e.change <> '+', {values:e.old_}, {latest_values}
  FROM {table}_changes e
  JOIN load_refs f ON f.date = e.date AND NOT f.ref_empty
  JOIN dataset_publications q ON q.id = e.publication
 WHERE (q.published_at, q.ident) > (f.ref_at, f.ref_ident)
WINDOW later AS (PARTITION BY {key:e.} ORDER BY q.published_at, q.ident
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
 ORDER BY {key:e.}, q.published_at, q.ident;
ALTER TABLE load_reference ADD PRIMARY KEY ({key});
ANALYZE load_reference;

-- name: gone
-- The reference's keys of checked dates that the publication no longer has. (The checked dates are a few:
-- their statistics let the plan read only theirs.)
ANALYZE load_days;
CREATE TEMPORARY TABLE load_gone ON COMMIT DROP AS
SELECT {key:t.}, {values:t.=old_}
  FROM {table} t
  JOIN load_order o ON o.date = t.date
  JOIN load_days d ON d.date = t.date AND d.checked
 WHERE NOT EXISTS (SELECT 1 FROM load_reference r WHERE ({key:r.}) = ({key:t.}))
   AND NOT EXISTS (SELECT 1 FROM load_refs f WHERE f.date = t.date AND f.ref_empty)
   AND NOT EXISTS (SELECT 1 FROM incoming i JOIN load_days c ON c.date = i.date AND c.checked
                    WHERE ({key:i.}) = ({key:t.}))
   AND NOT EXISTS (SELECT 1 FROM day_keys k WHERE ({key:k.}) = ({key:t.}));
INSERT INTO load_gone
SELECT {key:r.}, {values:r.}
  FROM load_reference r
  JOIN load_order o ON o.date = r.date
  JOIN load_days d ON d.date = r.date AND d.checked
 WHERE r.present
   AND NOT EXISTS (SELECT 1 FROM incoming i JOIN load_days c ON c.date = i.date AND c.checked
                    WHERE ({key:i.}) = ({key:r.}))
   AND NOT EXISTS (SELECT 1 FROM day_keys k WHERE ({key:k.}) = ({key:r.}));

-- name: newest
-- Dates this publication is the newest for: the table takes its rows; the changes record what it
-- changed (unless it is the first publication of the date: then its rows are the base).
WITH changes AS (
    INSERT INTO {table}_changes ({key}, publication, change, {values:old_}, {values:new_})
    SELECT {key:c.}, %(publication)s, CASE WHEN c.existed THEN '~' ELSE '+' END, {values:c.old_}, {values:c.new_}
      FROM load_changed c JOIN load_order o ON o.date = c.date
     WHERE o.next_id IS NULL AND o.prev_id IS NOT NULL
    UNION ALL
    SELECT {key:g.}, %(publication)s, '-', {values:g.old_}, {null_values}
      FROM load_gone g JOIN load_order o ON o.date = g.date
     WHERE o.next_id IS NULL AND o.prev_id IS NOT NULL
    RETURNING 1
), updated AS (
    UPDATE {table} t SET {set_new_values}
      FROM load_changed c JOIN load_order o ON o.date = c.date AND o.next_id IS NULL
     WHERE c.existed AND ({key:t.}) = ({key:c.})
    RETURNING 1
), inserted AS (
    INSERT INTO {table} ({key}, {values})
    SELECT {key:c.}, {values:c.new_}
      FROM load_changed c JOIN load_order o ON o.date = c.date AND o.next_id IS NULL
     WHERE NOT c.existed
    RETURNING 1
), deleted AS (
    DELETE FROM {table} t
     USING load_gone g JOIN load_order o ON o.date = g.date AND o.next_id IS NULL
     WHERE ({key:t.}) = ({key:g.})
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated), (SELECT count(*) FROM deleted),
       (SELECT coalesce(sum(rows), 0) FROM load_order WHERE next_id IS NULL);

-- name: older
-- Dates a later publication was loaded for already: the table stays as it is. This publication records
-- a -> b of each key, the next one b -> c, where a is the key's values at the previous publication, b in
-- this one and c at the next one. Of every other key, b is the reference's: the previous publication's
-- (b = a: the next one's a -> c is b -> c and stays), or the next one's (b = c: the next one's a -> c is
-- this one's a -> b and becomes its own, below; without a previous publication there is none).
-- Its rows that differ from its reference and the keys it dropped (load_changed, load_gone) carry b and
-- the reference's values; no publication is loaded between the previous and the next one, so the other of
-- a and c is the reference's too unless the next one changed the key: then its change says it (its new
-- values are c, its old ones a). (A date with no reference recorded had no rows in any other publication:
-- every key was absent at both.) One lookup of the next one's change per key, however many changes the
-- key has, where its whole history used to be read and sorted (ADR 0009).
-- Each key carries its date's neighbours (load_order's), so that the steps below place it without a join
-- the planner would misjudge (a nested loop over every date and key: 0.3 s a load in a backfill).
-- table_differs: whether the key's values in this publication differ from the table's, which are
-- load_reference's table_ where a later publication changed the key, else the reference's (unknown on a
-- date the reference had no rows of: such keys are looked up in the table).
CREATE TEMPORARY TABLE load_keys ON COMMIT DROP AS
SELECT k.*, o.prev_id, o.next_id, coalesce((f.ref_at, f.ref_ident) = (o.next_at, o.next_ident), false) AS ref_is_next,
       CASE WHEN r.date IS NOT NULL THEN (k.b_present, {values:k.b_}) IS DISTINCT FROM (r.table_present, {values:r.table_})
            WHEN NOT coalesce(f.ref_empty, false) THEN (k.b_present, {values:k.b_}) IS DISTINCT FROM (k.r_present, {values:k.r_})
       END AS table_differs
  FROM (SELECT {key:c.}, c.existed AS r_present, {values:c.old_=r_}, true AS b_present, {values:c.new_=b_}
          FROM load_changed c
        UNION ALL
        SELECT {key:g.}, true, {values:g.old_}, false, {null_values}
          FROM load_gone g) k
  JOIN load_order o ON o.date = k.date AND o.next_id IS NOT NULL
  LEFT JOIN load_refs f ON f.date = k.date
  LEFT JOIN load_reference r ON ({key:r.}) = ({key:k.});
-- Keyed and analyzed: the steps below look keys up in it (unanalyzed, its size guessed, the next one's
-- changes that move to this one were once checked against it by a scan per change: 5 s for one load).
ALTER TABLE load_keys ADD PRIMARY KEY ({key});
ANALYZE load_keys;
-- next_differs: the next publication's recorded change of the key (x) is not b -> c.
CREATE TEMPORARY TABLE load_states ON COMMIT DROP AS
SELECT s.*,
       CASE WHEN (b_present, {values:b_}) IS NOT DISTINCT FROM (c_present, {values:c_}) THEN x_change IS NOT NULL
            ELSE (x_change, {values:x_old_}, {values:x_new_}) IS DISTINCT FROM
                 (CASE WHEN NOT b_present THEN '+' WHEN NOT c_present THEN '-' ELSE '~' END, {values:b_}, {values:c_})
       END AS next_differs
  FROM (SELECT {key:k.}, k.prev_id, k.next_id, k.b_present, {values:k.b_},
               {state_at_prev},
               {state_at_next},
               x.change AS x_change, {values:x.old_=x_old_}, {values:x.new_=x_new_}
          FROM load_keys k
          LEFT JOIN {table}_changes x ON ({key:x.}, x.publication) = ({key:k.}, k.next_id)
       ) s;
DELETE FROM {table}_changes e
 USING load_states s
 WHERE s.next_differs AND e.publication = s.next_id AND ({key:e.}) = ({key:s.});
INSERT INTO {table}_changes ({key}, publication, change, {values:old_}, {values:new_})
SELECT {key}, %(publication)s,
       CASE WHEN NOT a_present THEN '+' WHEN NOT b_present THEN '-' ELSE '~' END, {values:a_}, {values:b_}
  FROM load_states
 WHERE prev_id IS NOT NULL AND (a_present, {values:a_}) IS DISTINCT FROM (b_present, {values:b_})
UNION ALL
SELECT {key}, next_id,
       CASE WHEN NOT b_present THEN '+' WHEN NOT c_present THEN '-' ELSE '~' END, {values:b_}, {values:c_}
  FROM load_states
 WHERE next_differs AND (b_present, {values:b_}) IS DISTINCT FROM (c_present, {values:c_});
-- The next publication's changes of the other keys, where it is the reference (b = c), are this one's.
UPDATE {table}_changes e SET publication = %(publication)s
  FROM load_order o
  JOIN load_refs f ON f.date = o.date AND (f.ref_at, f.ref_ident) = (o.next_at, o.next_ident)
 WHERE o.date = e.date AND e.publication = o.next_id AND o.prev_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM load_keys k WHERE ({key:k.}) = ({key:e.}));
-- Its rows that differ from the table are stale: of the keys above, by b (table_differs); of the others,
-- b is the reference's, which differs from the table where a later publication changed the key.
SELECT (SELECT count(*)
          FROM load_keys k
         WHERE k.b_present
           AND coalesce(k.table_differs,
                        NOT EXISTS (SELECT 1 FROM {table} t
                                     WHERE ({key:t.}) = ({key:k.}) AND ({values:t.}) IS NOT DISTINCT FROM ({values:k.b_}))))
     + (SELECT count(*)
          FROM load_reference r
         WHERE r.present AND (r.present, {values:r.}) IS DISTINCT FROM (r.table_present, {values:r.table_})
           AND NOT EXISTS (SELECT 1 FROM load_keys k WHERE ({key:k.}) = ({key:r.}))),
       (SELECT coalesce(sum(rows), 0) FROM load_order WHERE next_id IS NOT NULL);
