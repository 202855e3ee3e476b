"""Checkout and the exported environment, checked by running compiled scripts in bash.

Origins are real git repositories in a temp directory, cloned by path and by file:// URL.
"""

from __future__ import annotations

from script_support import Sandbox, commit, git, make_repo, payload


def test_clone_and_checkout_the_exact_commit(sandbox: Sandbox) -> None:
    first = sandbox.repo({"f": "one"})
    commit(sandbox.origin, sandbox.env, {"f": "two"}, "Second")
    job = payload(
        {"script": ["cat f", "git rev-parse HEAD"]}, clone_url=str(sandbox.origin), sha=first
    )
    run = sandbox.run(job)
    assert run.code == 0
    assert "one" in run.lines
    assert first in run.lines
    assert f"$ git clone --branch=main {sandbox.origin} {sandbox.build_dir}" in run.lines
    assert f"$ cd {sandbox.build_dir}" in run.lines
    assert f"$ git checkout -qf {first}" in run.lines
    assert "travis_fold:start:git.checkout\r\x1b[0K" in run.raw
    assert "travis_fold:end:git.checkout\r\x1b[0K" in run.raw


def test_file_url_gets_a_shallow_clone(sandbox: Sandbox) -> None:
    sandbox.repo()
    sha = commit(sandbox.origin, sandbox.env, {"f": "2"}, "Second")
    config = {"git": {"depth": 1}, "script": ["git rev-parse --is-shallow-repository"]}
    run = sandbox.run(payload(config, clone_url=f"file://{sandbox.origin}", sha=sha))
    clone = f"$ git clone --depth=1 --branch=main file://{sandbox.origin} {sandbox.build_dir}"
    assert clone in run.lines
    assert "true" in run.lines
    assert run.code == 0


def test_git_depth_false_and_quiet(sandbox: Sandbox) -> None:
    sha = sandbox.repo()
    config = {"git": {"depth": False, "quiet": True}, "script": ["true"]}
    run = sandbox.run(payload(config, clone_url=f"file://{sandbox.origin}", sha=sha))
    assert (
        f"$ git clone --branch=main --quiet file://{sandbox.origin} {sandbox.build_dir}"
        in run.lines
    )
    assert run.code == 0


def test_commit_behind_the_shallow_history_is_fetched(sandbox: Sandbox) -> None:
    first = sandbox.repo({"f": "one"})
    for n in range(3):
        commit(sandbox.origin, sandbox.env, {"f": f"n{n}"}, f"Commit {n}")
    config = {"git": {"depth": 1}, "script": ["cat f"]}
    run = sandbox.run(payload(config, clone_url=f"file://{sandbox.origin}", sha=first))
    assert "one" in run.lines
    assert run.code == 0


def test_failing_clone_errors_the_job(sandbox: Sandbox) -> None:
    missing = sandbox.root / "missing"
    run = sandbox.run(payload({"script": ["echo never"]}, clone_url=str(missing), sha="abc"))
    assert run.code == 2
    clone = f"git clone --branch=main {missing} {sandbox.build_dir}"
    assert f'The command "{clone}" failed. Retrying, 2 of 3.' in run.lines
    assert f'The command "{clone}" failed 3 times.' in run.lines
    assert f'The command "{clone}" failed and exited with 128 during checkout.' in run.lines
    assert run.lines[-1] == "Your build has been stopped."
    assert "never" not in run.lines


def test_tag_build(sandbox: Sandbox) -> None:
    sha = sandbox.repo({"f": "tagged"})
    git(sandbox.origin, "tag", "v1.0", env=sandbox.env)
    commit(sandbox.origin, sandbox.env, {"f": "later"}, "Later")
    config = {"script": ['echo "tag=$TRAVIS_TAG branch=$TRAVIS_BRANCH"', "cat f"]}
    job = payload(config, clone_url=str(sandbox.origin), sha=sha, commit={"tag": "v1.0"})
    run = sandbox.run(job)
    assert "tag=v1.0 branch=v1.0" in run.lines
    assert "tagged" in run.lines
    assert run.code == 0


def test_pull_request_ref(sandbox: Sandbox) -> None:
    sandbox.repo({"f": "base"})
    git(sandbox.origin, "checkout", "-q", "-b", "feature", env=sandbox.env)
    head = commit(sandbox.origin, sandbox.env, {"f": "feature"}, "Feature")
    git(sandbox.origin, "update-ref", "refs/pull/5/head", head, env=sandbox.env)
    git(sandbox.origin, "checkout", "-q", "main", env=sandbox.env)
    job = payload(
        {"script": ["cat f", 'echo "pr=$TRAVIS_PULL_REQUEST"']},
        clone_url=str(sandbox.origin),
        sha=head,
        commit={"ref": "refs/pull/5/head", "pull_request": 5},
        build={"event_type": "pull_request"},
    )
    run = sandbox.run(job)
    assert f"$ git clone {sandbox.origin} {sandbox.build_dir}" in run.lines
    assert "$ git fetch origin +refs/pull/5/head:" in run.lines
    assert "$ git checkout -qf FETCH_HEAD" in run.lines
    assert "feature" in run.lines
    assert "pr=5" in run.lines
    assert run.code == 0


def test_clone_false(sandbox: Sandbox) -> None:
    run = sandbox.run(payload({"git": {"clone": False}, "script": ["pwd", "ls -A | wc -l"]}))
    assert str(sandbox.build_dir) in run.lines
    assert "0" in run.lines
    assert "git.checkout" not in run.raw
    assert run.code == 0


def test_submodules(sandbox: Sandbox) -> None:
    sub = sandbox.root / "sub"
    make_repo(sub, sandbox.env, {"inner": "from-sub"})
    sandbox.repo()
    git(
        sandbox.origin,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(sub),
        "sub",
        env=sandbox.env,
    )
    sha = commit(sandbox.origin, sandbox.env, {}, "Add submodule")
    run = sandbox.run(
        payload({"script": ["cat sub/inner"]}, clone_url=str(sandbox.origin), sha=sha)
    )
    assert "travis_fold:start:git.submodule\r\x1b[0K" in run.raw
    assert "$ git submodule update --init --recursive" in run.lines
    assert "from-sub" in run.lines
    assert run.code == 0


def test_builtin_environment(sandbox: Sandbox) -> None:
    names = [
        "TRAVIS",
        "CI",
        "CONTINUOUS_INTEGRATION",
        "TRAVIS_BUILD_ID",
        "TRAVIS_BUILD_NUMBER",
        "TRAVIS_JOB_ID",
        "TRAVIS_JOB_NUMBER",
        "TRAVIS_BRANCH",
        "TRAVIS_COMMIT",
        "TRAVIS_EVENT_TYPE",
        "TRAVIS_PULL_REQUEST",
        "TRAVIS_REPO_SLUG",
        "TRAVIS_BUILD_DIR",
        "TRAVIS_OS_NAME",
        "TRAVIS_LANGUAGE",
        "TRAVIS_PYTHON_VERSION",
        "TRAVIS_BUILD_STAGE_NAME",
        "TRAVIS_ALLOW_FAILURE",
        "TRAVIS_JOB_WEB_URL",
        "TRAVIS_BUILD_WEB_URL",
        "TRAVIS_TAG",
        "TRAVIS_SECURE_ENV_VARS",
        "TRAVIS_JOB_NAME",
        "TRAVIS_COMMIT_RANGE",
    ]
    sha = sandbox.repo()
    job = payload(
        {
            "language": "python",
            "python": "3.11",
            "script": [f'for v in {" ".join(names)}; do echo "$v=${{!v}}"; done'],
        },
        clone_url=str(sandbox.origin),
        sha=sha,
        job={"stage_name": "test", "name": "Unit tests", "allow_failure": True},
        commit={"range": "abc...def"},
    )
    values = dict(
        line.split("=", 1)
        for line in sandbox.run(job).lines
        if "=" in line and line.split("=")[0] in names
    )
    assert values["TRAVIS"] == values["CI"] == values["CONTINUOUS_INTEGRATION"] == "true"
    assert values["TRAVIS_BUILD_ID"] == "17"
    assert values["TRAVIS_BUILD_NUMBER"] == "7"
    assert values["TRAVIS_JOB_ID"] == "31"
    assert values["TRAVIS_JOB_NUMBER"] == "7.1"
    assert values["TRAVIS_JOB_NAME"] == "Unit tests"
    assert values["TRAVIS_BRANCH"] == "main"
    assert values["TRAVIS_COMMIT"] == sha
    assert values["TRAVIS_COMMIT_RANGE"] == "abc...def"
    assert values["TRAVIS_EVENT_TYPE"] == "push"
    assert values["TRAVIS_PULL_REQUEST"] == "false"
    assert values["TRAVIS_REPO_SLUG"] == "owner/name"
    assert values["TRAVIS_BUILD_DIR"] == str(sandbox.build_dir)
    assert values["TRAVIS_OS_NAME"] == "linux"
    assert values["TRAVIS_LANGUAGE"] == "python"
    assert values["TRAVIS_PYTHON_VERSION"] == "3.11"
    assert values["TRAVIS_BUILD_STAGE_NAME"] == "Test"
    assert values["TRAVIS_ALLOW_FAILURE"] == "true"
    assert values["TRAVIS_JOB_WEB_URL"] == "http://ci.example/owner/name/jobs/31"
    assert values["TRAVIS_BUILD_WEB_URL"] == "http://ci.example/owner/name/builds/17"
    assert values["TRAVIS_TAG"] == ""
    assert values["TRAVIS_SECURE_ENV_VARS"] == "false"


def test_commit_message_is_exported_verbatim(sandbox: Sandbox) -> None:
    message = "Fix 'quotes' \"and\" $(not run) `nor this`\n\nbody line"
    job = sandbox.job(
        {"script": ['printf "%s" "$TRAVIS_COMMIT_MESSAGE" > msg', "cat msg; echo"]},
        commit={"message": message},
    )
    run = sandbox.run(job)
    assert "Fix 'quotes' \"and\" $(not run) `nor this`" in run.lines
    assert "body line" in run.lines


def test_default_build_dir_is_home_build_slug(sandbox: Sandbox) -> None:
    job = sandbox.job({"script": ["pwd"]})
    run = sandbox.run(job, extra_env={"TRAVIS_BUILD_DIR": ""})
    assert str(sandbox.home / "build" / "owner" / "name") in run.lines
    assert run.code == 0


def test_settings_and_config_env_in_precedence_order(sandbox: Sandbox) -> None:
    env_vars = [
        {"name": "SHARED", "value": "from-settings", "public": True},
        {"name": "TOKEN", "value": "s3cr3t", "public": False},
        {"name": "ONLY_MAIN", "value": "main-value", "public": True, "branch": "main"},
        {"name": "ONLY_OTHER", "value": "other", "public": True, "branch": "other"},
    ]
    config = {
        "env": [
            'SHARED=from-yml SPACED="a b" SUB=$(echo computed)',
            {"secure": "SECRET=hidden"},
            "TRAVIS_TAG=override",
        ],
        "script": [
            'echo "$SHARED|$TOKEN|$SPACED|$SUB|$SECRET|$ONLY_MAIN|${ONLY_OTHER:-unset}|'
            '$TRAVIS_SECURE_ENV_VARS|$TRAVIS_TAG"'
        ],
    }
    run = sandbox.run(sandbox.job(config, env_vars=env_vars))
    assert "from-yml|s3cr3t|a b|computed|hidden|main-value|unset|true|override" in run.lines
    lines = run.lines
    settings = lines.index("Setting environment variables from repository settings")
    assert lines[settings + 1 : settings + 4] == [
        "$ export SHARED=from-settings",
        "$ export TOKEN=[secure]",
        "$ export ONLY_MAIN=main-value",
    ]
    yml = lines.index("Setting environment variables from .travis.yml")
    assert lines[yml + 1 : yml + 6] == [
        "$ export SHARED=from-yml",
        '$ export SPACED="a b"',
        "$ export SUB=$(echo computed)",
        "$ export SECRET=[secure]",
        "$ export TRAVIS_TAG=override",
    ]
    assert "s3cr3t" not in run.text.replace("from-yml|s3cr3t", "")
    assert "hidden" not in run.text.replace("|hidden|", "")


def test_sparse_checkout(sandbox: Sandbox) -> None:
    files = {"sparse.txt": "/a/\n/sparse.txt\n", "a/x": "1", "b/y": "2"}
    job = sandbox.job(
        {"git": {"sparse_checkout": "sparse.txt"}, "script": ["ls -A | sort | tr '\\n' ' '"]},
        files=files,
    )
    run = sandbox.run(job)
    assert ".git a sparse.txt " in run.lines
    assert run.code == 0
