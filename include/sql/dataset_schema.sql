-- The tables of one dataset (covid_etl/sources/specs.py), rendered from its description by
-- covid_etl/sql.py: {table} holds what the newest loaded publications say; {table}_changes every
-- change a later publication made to a key, so that any earlier state can be answered.
--
-- The history is kept as changes only. Per key and publication in publication order (published_at,
-- then ident): a first appearance ('+'), a changed value ('~') or a key the publication no longer has
-- ('-'), with the values before and after. The first publication loaded for a date is the base: its
-- rows are the latest table's rows rolled back through the changes, so a first load writes every row
-- once. Publications may be loaded in any order; the stored changes are those of loading them oldest
-- first (covid_etl/load/loader.py), so the history does not depend on the order.

CREATE TABLE IF NOT EXISTS {table} (
    {column_definitions},
    PRIMARY KEY ({key})
);
-- A tenth of every page left free: a daily load updates the counts of rows all over the table (a
-- publication revises a few rows of every date), and an update that fits in its row's page changes no
-- index (a HOT update): the bench's 1% revision updates 25,006 rows in 0.25 s, 0.47 s with full pages.
-- Set apart from CREATE so that a table created by an earlier version gets it too (for pages written
-- from now on).
ALTER TABLE {table} SET (fillfactor = 90);

CREATE TABLE IF NOT EXISTS {table}_changes (
    {key:/defs},
    publication integer NOT NULL,
    change      char(1) NOT NULL CHECK (change IN ('+', '~', '-')),
    {values:old_/defs},
    {values:new_/defs},
    PRIMARY KEY ({key}, publication)
);
-- Every change names a loaded publication: each statement's changes are checked at once, and a publication
-- the history names cannot be deleted (schema.sql, ADR 0009). A foreign key checked each change on its
-- own: its place, from an earlier version, is taken by the triggers.
ALTER TABLE {table}_changes DROP CONSTRAINT IF EXISTS {table}_changes_publication_fkey;
-- (Two triggers: PostgreSQL gives transition tables to triggers of one event only.)
CREATE OR REPLACE TRIGGER {table}_changes_inserted
    AFTER INSERT ON {table}_changes
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT
    EXECUTE FUNCTION covid_etl_publications_exist();
CREATE OR REPLACE TRIGGER {table}_changes_updated
    AFTER UPDATE ON {table}_changes
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT
    EXECUTE FUNCTION covid_etl_publications_exist();
CREATE OR REPLACE TRIGGER {table}_changes_named
    AFTER DELETE ON dataset_publications
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT
    EXECUTE FUNCTION covid_etl_publications_unnamed('{table}_changes');
{lookup_indexes}
-- A statement that changes the table outside a load (a hand edit) voids the fingerprints the next load
-- would otherwise compare with: the loader sets covid_etl.loading for its own statements.
CREATE OR REPLACE TRIGGER {table}_edited
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT
    WHEN (current_setting('covid_etl.loading', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION covid_etl_forget_fingerprints('{dataset}');

-- The table as it stood with only the publications committed at or before `at` loaded. A key's latest
-- change at or before `at` says what it was (a deletion: nothing); a key whose changes all come later
-- was as its earliest change found it (an appearance: nothing), once a publication covering its date
-- was loaded; a key never changed is as the table holds it, from then on too.
CREATE OR REPLACE FUNCTION {table}_as_of(at timestamptz)
RETURNS TABLE ({columns:/defs})
LANGUAGE sql STABLE AS $$
    WITH publications AS (
        SELECT id, published_at, ident, scope_from, scope_to
          FROM dataset_publications
         WHERE dataset = '{dataset}'
    )
    SELECT {columns}
      FROM (SELECT DISTINCT ON ({key:e.}) {key:e.}, {values:e.new_=}, e.change
              FROM {table}_changes e JOIN publications p ON p.id = e.publication
             WHERE p.published_at <= at
             ORDER BY {key:e.}, p.published_at DESC, p.ident DESC) latest
     WHERE latest.change <> '-'
    UNION ALL
    SELECT {columns}
      FROM (SELECT DISTINCT ON ({key:e.}) {key:e.}, {values:e.old_=}, e.change
              FROM {table}_changes e JOIN publications p ON p.id = e.publication
             WHERE p.published_at > at
               AND NOT EXISTS (SELECT 1
                                 FROM {table}_changes b JOIN publications q ON q.id = b.publication
                                WHERE ({key:b.}) = ({key:e.}) AND q.published_at <= at)
               AND EXISTS (SELECT 1 FROM publications c
                            WHERE c.published_at <= at AND e.date BETWEEN c.scope_from AND c.scope_to)
             ORDER BY {key:e.}, p.published_at, p.ident) earliest
     WHERE earliest.change <> '+'
    UNION ALL
    SELECT {columns:t.}
      FROM {table} t
     WHERE NOT EXISTS (SELECT 1 FROM {table}_changes e WHERE ({key:e.}) = ({key:t.}))
       AND EXISTS (SELECT 1 FROM publications p
                    WHERE p.published_at <= at AND t.date BETWEEN p.scope_from AND p.scope_to)
$$;

-- One row per key and publication that changed the key's values from its previous publication (first
-- appearances and deletions are not revisions).
CREATE OR REPLACE VIEW {table}_revisions AS
    SELECT {key:e.}, p.published_at, p.commit, {revised_values}
      FROM {table}_changes e JOIN dataset_publications p ON p.id = e.publication
     WHERE e.change = '~';
