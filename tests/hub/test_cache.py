"""The hub's sqlite3 page cache: shared by hubs, bounded, and never fatal when damaged."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from ticktape.hub.cache import SCHEMA_VERSION, CachedPage, RestCache, default_path

PAGE = CachedPage(200, "application/json", b'{"status":"OK","results":[]}')


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ticktape" / "rest.sqlite3"


def test_a_page_survives_closing_and_reopening(path: Path) -> None:
    cache = RestCache(path)
    cache.put("/v2/a?limit=5", PAGE)
    assert cache.get("/v2/a?limit=5") == PAGE
    assert cache.get("/v2/a?limit=6") is None
    cache.close()
    again = RestCache(path)
    assert again.get("/v2/a?limit=5") == PAGE
    assert again.entries() == 1
    again.close()


def test_expired_pages_are_misses_and_are_dropped_on_open(path: Path) -> None:
    now = [1000.0]
    cache = RestCache(path, clock=lambda: now[0])
    cache.put("old", PAGE, expires_at=1500.0)
    cache.put("forever", PAGE)
    assert cache.get("old") == PAGE
    now[0] = 1500.0
    assert cache.get("old") is None
    assert cache.get("forever") == PAGE
    cache.close()
    reopened = RestCache(path, clock=lambda: now[0])
    assert reopened.entries() == 1
    reopened.close()


def test_two_hubs_share_one_file_in_wal_mode(path: Path) -> None:
    first, second = RestCache(path), RestCache(path)
    try:
        errors: list[BaseException] = []

        def writer(cache: RestCache, prefix: str) -> None:
            try:
                for i in range(50):
                    cache.put(f"{prefix}{i}", PAGE)
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [
            threading.Thread(target=writer, args=(first, "a")),
            threading.Thread(target=writer, args=(second, "b")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert first.get("b49") == PAGE and second.get("a49") == PAGE
        assert first.entries() == 100
        assert (first.errors, second.errors) == (0, 0)
    finally:
        first.close()
        second.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_database_is_moved_aside_and_recreated(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage " * 1000)
    cache = RestCache(path)
    try:
        assert cache.enabled and cache.recovered == 1
        cache.put("k", PAGE)
        assert cache.get("k") == PAGE
    finally:
        cache.close()
    assert path.with_name("rest.sqlite3.corrupt").read_bytes().startswith(b"garbage")


def test_a_file_damaged_while_open_is_recovered_on_the_next_read(path: Path) -> None:
    cache = RestCache(path)
    for i in range(40):
        cache.put(f"k{i}", CachedPage(200, "application/json", b"x" * 5000))
    cache.close()  # checkpoints the WAL into the main file
    cache = RestCache(path)
    try:
        size = path.stat().st_size
        with path.open("r+b") as f:  # everything past the header page
            f.seek(4096)
            f.write(b"\xff" * (size - 4096))
        assert cache.get("k7") is None
        assert cache.recovered == 1
        cache.put("fresh", PAGE)
        assert cache.get("fresh") == PAGE
    finally:
        cache.close()
    assert path.with_name("rest.sqlite3.corrupt").exists()


def test_an_unusable_location_disables_the_cache_without_crashing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = RestCache(blocker / "rest.sqlite3")
    assert not cache.enabled and cache.errors == 1
    cache.put("k", PAGE)
    assert cache.get("k") is None
    assert cache.entries() == 0
    cache.close()


def test_the_oldest_pages_go_when_the_size_bound_is_passed(path: Path) -> None:
    now = [0.0]
    cache = RestCache(path, max_bytes=10_000, clock=lambda: now[0])
    try:
        for i in range(5):
            now[0] = float(i)
            cache.put(f"k{i}", CachedPage(200, "application/json", b"x" * 3000))
        assert [cache.get(f"k{i}") is not None for i in range(5)] == [
            False,
            False,
            True,
            True,
            True,
        ]
    finally:
        cache.close()


def test_a_cache_from_another_schema_version_starts_empty(path: Path) -> None:
    cache = RestCache(path)
    cache.put("k", PAGE)
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    again = RestCache(path)
    try:
        assert again.get("k") is None and again.entries() == 0
    finally:
        again.close()


def test_the_cache_lives_under_the_xdg_cache_dir_and_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    where = default_path()
    assert where == tmp_path / "xdg" / "ticktape" / "rest.sqlite3"
    RestCache(where).close()
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_path() == Path.home() / ".cache" / "ticktape" / "rest.sqlite3"
