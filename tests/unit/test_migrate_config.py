"""rapport/core/migrate.py: the database URL reaches Alembic as written, whatever its password."""

from __future__ import annotations

from sqlalchemy import create_engine

from rapport.core.migrate import alembic_config


def test_a_url_encoded_password_survives_alembics_config():
    # p%40ss is "p@ss" URL-encoded: ConfigParser used to read "%4" as a broken placeholder and
    # `rapport db upgrade` stopped with "invalid interpolation syntax".
    engine = create_engine("postgresql+psycopg://rapport:p%40ss%25x@db.internal:5432/rapport")
    url = alembic_config(engine).get_main_option("sqlalchemy.url")
    assert url == engine.url.render_as_string(hide_password=False)
    assert engine.url.password == "p@ss%x"


def test_a_plain_sqlite_url_is_unchanged(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    assert alembic_config(engine).get_main_option("sqlalchemy.url") == f"sqlite:///{tmp_path / 'rapport.db'}"
