-- bounceloop's database and roles, least privilege. Run once as a superuser:
--     sudo -u postgres psql -v owner_pw=SECRET1 -v app_pw=SECRET2 -f roles.sql
--
-- bounceloop_owner owns the schema and is used only by `bounceloop db upgrade` (DDL).
-- bounceloop, the role of BOUNCELOOP_DATABASE_URL, reads and writes rows: it cannot create,
-- alter or drop anything, so `serve` on an empty database fails until the upgrade ran.

CREATE ROLE bounceloop_owner LOGIN PASSWORD :'owner_pw';
-- 15 connections per `bounceloop serve` process (storage/engine.py) plus the CLI: raise
-- the limit with the number of processes, below max_connections (room for admins).
CREATE ROLE bounceloop LOGIN PASSWORD :'app_pw' CONNECTION LIMIT 135;
CREATE DATABASE bounceloop OWNER bounceloop_owner ENCODING 'UTF8' TEMPLATE template0;

\connect bounceloop

REVOKE ALL ON DATABASE bounceloop FROM PUBLIC;
GRANT CONNECT ON DATABASE bounceloop TO bounceloop;

-- The tables go in public, owned by bounceloop_owner (PostgreSQL before 15 lets every role
-- create there, and gives the schema to the bootstrap superuser).
ALTER SCHEMA public OWNER TO bounceloop_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO bounceloop;

-- Rows of every table and sequence the migrations create, now and in later versions.
ALTER DEFAULT PRIVILEGES FOR ROLE bounceloop_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bounceloop;
ALTER DEFAULT PRIVILEGES FOR ROLE bounceloop_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO bounceloop;
-- For a database that already has the tables (made by bounceloop_owner):
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bounceloop;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO bounceloop;
