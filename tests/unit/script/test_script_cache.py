"""Build cache: directories restored from the worker's fetched copy and stored after the script.

A round trip between two jobs, with the store of the first job fed to the second.
"""

from __future__ import annotations

import shutil

from script_support import Sandbox, payload

from roundhouse.platform.cache import valid_name
from roundhouse.script import compile_script
from roundhouse.script.cache import directories, name


def test_cache_round_trip_between_two_jobs(sandbox: Sandbox) -> None:
    fetched, store = sandbox.root / "fetched", sandbox.root / "store"
    fetched.mkdir()
    store.mkdir()
    config = {
        "cache": {"directories": ["deps", "$HOME/.cache/mine"]},
        "script": [
            "cat deps/lib 2>/dev/null || echo no-cache",
            "echo built > deps/lib",
            "echo x > ~/.cache/mine/y",
        ],
        "before_cache": ["echo before-cache-ran"],
    }
    job = sandbox.job(config)
    extra = {"ROUNDHOUSE_CACHE_FETCHED": str(fetched), "ROUNDHOUSE_CACHE_STORE": str(store)}
    first = sandbox.run(job, extra_env=extra)
    assert first.code == 0
    assert "could not download cache" in first.lines
    assert f"adding {sandbox.build_dir}/deps to cache" in first.lines
    assert "no-cache" in first.lines
    assert "before-cache-ran" in first.lines
    assert "travis_fold:start:cache.1\r\x1b[0K" in first.raw
    assert "travis_fold:start:cache.2\r\x1b[0K" in first.raw
    # The build directory is /.build below the store: its real path may differ per job.
    assert (store / ".build" / "deps" / "lib").read_text() == "built\n"
    assert (store / str(sandbox.home).lstrip("/") / ".cache" / "mine" / "y").exists()

    shutil.rmtree(sandbox.build_dir)
    shutil.rmtree(fetched)
    store.rename(fetched)
    store.mkdir()
    second = sandbox.run(job, extra_env=extra)
    assert "found cache" in second.lines
    assert "built" in second.lines
    assert second.code == 0


def test_before_cache_only_with_a_cache(sandbox: Sandbox) -> None:
    job = payload(
        {"git": {"clone": False}, "before_cache": ["echo before-cache-ran"], "script": ["true"]}
    )
    run = sandbox.run(job)
    assert "before-cache-ran" not in run.lines
    assert "cache." not in run.raw


def test_without_worker_support_the_job_still_runs(sandbox: Sandbox) -> None:
    run = sandbox.run(payload({"git": {"clone": False}, "cache": "pip", "script": ["true"]}))
    assert "The build cache is not available on this worker." in run.lines
    assert run.code == 0


def test_named_strategies_and_cache_false() -> None:
    assert directories({"language": "python", "cache": "pip"}) == ["$HOME/.cache/pip"]
    assert directories({"language": "node_js"}) == ["$HOME/.npm"]
    assert directories({"language": "node_js", "cache": False}) == []
    assert "target" in directories({"cache": ["cargo", {"directories": ["x"]}]})
    assert "_rh_cache_fetch" not in compile_script(payload({"language": "python"}))


def test_cache_name_separates_what_makes_caches_incompatible() -> None:
    base = {"language": "python", "python": "3.11", "os": "linux", "dist": "focal", "env": ["A=1"]}
    assert name(base) == name(dict(base))
    assert name(base).startswith("cache-linux-focal-")
    assert name(base).endswith("--python-3.11")
    others = [{"python": "3.12"}, {"env": ["A=2"]}, {"dist": "jammy"}, {"os": "osx"}]
    assert len({name(base), *(name({**base, **other}) for other in others)}) == 5
    assert valid_name(name({"language": "node_js", "node_js": "lts/*", "env": [{"secure": "x"}]}))
