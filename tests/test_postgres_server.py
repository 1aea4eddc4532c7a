"""The PostgreSQL test server (tests/_postgres.py): it runs, and each test gets its own empty database."""

from __future__ import annotations

import psycopg

from _postgres import PostgresServer


def test_a_real_server_answers(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url()) as connection:
        version = connection.execute("show server_version_num").fetchone()
        address = connection.execute("select inet_server_addr()::text").fetchone()
    assert version is not None and int(version[0]) >= 130000
    assert address is not None and address[0].startswith("127.0.0.1")


def test_each_test_gets_an_empty_database(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        tables = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()
        connection.execute("create table marker (id int)")
    assert tables == (0,)
