from app.settings import Settings, async_database_url, sync_database_url


def test_port_alone_moves_the_public_address(monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "8080")
    settings = Settings.from_env()
    assert settings.public_url == "http://localhost:8080"
    assert settings.rp_id == "localhost" and not settings.https


def test_public_url_decides_https_origin_and_relying_party(monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://kotopolku.esimerkkila.fi/")
    settings = Settings.from_env()
    assert settings.https
    assert settings.origin == "https://kotopolku.esimerkkila.fi"
    assert settings.rp_id == "kotopolku.esimerkkila.fi"


def test_database_urls_get_the_right_drivers():
    assert async_database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert sync_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_database_url("sqlite:///var/k.db") == "sqlite+aiosqlite:///var/k.db"
    assert sync_database_url("sqlite+aiosqlite:///var/k.db") == "sqlite:///var/k.db"
