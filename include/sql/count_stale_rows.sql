-- Rows of incoming_rows (an older publication than the table holds) that differ from the table: they
-- lose to the newer publication and are not written. {table}, {key}, {stored_values}, {new_values}:
-- as in merge_dataset.sql.
SELECT count(*)
  FROM incoming_rows AS incoming
  LEFT JOIN {table} AS stored USING ({key})
 WHERE ({stored_values}) IS DISTINCT FROM ({new_values})
