-- Before a publication's fingerprints are written, the next publication of each given date gets its own
-- record of the date where it inherited one: the record of its source publication, or a gone day (rows 0)
-- where there was none. Parameters: %(dataset)s, and per date %(day)s, %(next)s and %(source)s (arrays).
INSERT INTO dataset_fingerprints (dataset, date, publication, rows, keysum, digest, blocks, chunks)
SELECT %(dataset)s, c.day, c.next, coalesce(f.rows, 0), coalesce(f.keysum, 0),
       coalesce(f.digest, ''), coalesce(f.blocks, ''), coalesce(f.chunks, '')
  FROM unnest(%(day)s::date[], %(next)s::integer[], %(source)s::integer[]) AS c(day, next, source)
  LEFT JOIN dataset_fingerprints f ON f.dataset = %(dataset)s AND f.date = c.day AND f.publication = c.source
