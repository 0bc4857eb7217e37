-- The revisions of a dataset's table (its {table}_revisions view) for the dashboard's revisions view,
-- newest first, at most %(limit)s of them, and how many there are in all: a json object with "total"
-- and "rows", each row [the key's columns, published_at, commit, old_cases, new_cases, old_deaths,
-- new_deaths]. Rendered per dataset by covid_etl/sql.py.
WITH newest AS (
    SELECT * FROM {table}_revisions ORDER BY published_at DESC, {key} LIMIT %(limit)s
)
SELECT json_build_object(
    'total', (SELECT count(*) FROM {table}_revisions),
    'rows', (SELECT coalesce(json_agg(json_build_array({key}, published_at, commit, old_cases, new_cases,
                                                       old_deaths, new_deaths)
                                      ORDER BY published_at DESC, {key}), '[]'::json)
               FROM newest))
