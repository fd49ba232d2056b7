"""The database interface's unit test binary, run on both backends: SQLite
(always) and PostgreSQL (a throwaway cluster from pglib)."""
import os
import subprocess

from conftest import program


def run_unit(name, url):
    env = dict(os.environ, STRATA_TEST_PG_URL=url)
    r = subprocess.run([str(program("tests", "unit", "cloud", name))], env=env,
                       capture_output=True, text=True, timeout=600)
    print(r.stdout, r.stderr)
    assert r.returncode == 0
    assert "backend: postgresql" in r.stdout and "SKIP" not in r.stdout


def test_db_interface_on_postgresql(postgres):
    url = postgres.new_database()
    run_unit("test-cloud-db", url)
    # the tables really are in PostgreSQL
    assert postgres.psql(url.split("dbname=")[1], "SELECT n FROM counter").strip() == "100"


def test_identity_logic_on_postgresql(postgres):
    url = postgres.new_database()
    run_unit("test-cloud-identity", url)
    dbname = url.split("dbname=")[1]
    assert postgres.psql(dbname, "SELECT version FROM schema_version WHERE component = 'identity'").strip() == "2"


def test_server_claims_on_postgresql(postgres):
    """16 connections claim one host with room for 6 at once: exactly 6 win
    (the claim's conditional UPDATE under PostgreSQL's row lock)."""
    url = postgres.new_database()
    run_unit("test-cloud-servers-claims", url)
    dbname = url.split("dbname=")[1]
    assert postgres.psql(dbname, "SELECT COUNT(*) FROM compute_claim").strip() == "0"
