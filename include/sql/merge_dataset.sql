-- Write the rows of the temporary table incoming_rows into a dataset's table: insert new keys, update
-- only rows whose values differ, leave the rest alone; one row of counts (inserted, updated).
-- {table}, {columns}, {key}, {set_values}, {stored_values} and {new_values} are filled in from the
-- dataset's description (covid_etl/datasets.py) by covid_etl/bulk.py: names, never input.
WITH written AS (
    INSERT INTO {table} AS stored ({columns})
    SELECT {columns} FROM incoming_rows
    ON CONFLICT ({key}) DO UPDATE
       SET {set_values}, loaded_at = now(), run_id = EXCLUDED.run_id
     WHERE ({stored_values}) IS DISTINCT FROM ({new_values})
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
