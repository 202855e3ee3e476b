"""Per-language knowledge: version variables and Travis's default install and script steps.

Defaults are bash blocks because several depend on files in the checkout (travis-internals.md 4.7).
"""

from __future__ import annotations

from typing import Any

from roundhouse.script.shell import Cmd, Mode, echo, quote, render_cmd, word

# config key → TRAVIS_<NAME>_VERSION
VERSION_KEYS = {
    "python": "PYTHON",
    "node_js": "NODE",
    "rvm": "RUBY",
    "go": "GO",
    "rust": "RUST",
    "jdk": "JDK",
    "php": "PHP",
    "perl": "PERL",
    "perl6": "PERL6",
    "r": "R",
    "dart": "DART",
    "elixir": "ELIXIR",
    "elm": "ELM",
    "ghc": "HASKELL",
    "haxe": "HAXE",
    "julia": "JULIA",
    "matlab": "MATLAB",
    "scala": "SCALA",
    "smalltalk": "SMALLTALK",
    "crystal": "CRYSTAL",
    "d": "D",
}

MAVEN_INSTALL = "-DskipTests=true -Dmaven.javadoc.skip=true -B -V"

ALIASES = {
    "shell": "generic",
    "sh": "generic",
    "bash": "generic",
    "minimal": "generic",
    "javascript": "node_js",
    "node": "node_js",
    "jvm": "java",
    "cpp": "cpp",
    "c++": "cpp",
    "golang": "go",
    "objective-c": "ruby",
    "groovy": "java",
    "android": "java",
}


def canonical(config: dict[str, Any]) -> str:
    """The language that decides defaults (Travis's default language is ruby)."""
    language = str(config.get("language") or "ruby").lower()
    return ALIASES.get(language, language)


def _one(value: Any) -> str:
    """Expansion keys hold one value per job; tolerate a one-item list."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value)


def version_env(config: dict[str, Any]) -> dict[str, str]:
    """TRAVIS_<LANG>_VERSION and friends for the version keys present in the job config."""
    values = {
        f"TRAVIS_{name}_VERSION": _one(config[key])
        for key, name in VERSION_KEYS.items()
        if config.get(key) not in (None, "", [])
    }
    if config.get("otp_release"):
        values["TRAVIS_OTP_RELEASE"] = _one(config["otp_release"])
    if config.get("compiler"):
        values["TRAVIS_COMPILER"] = _one(config["compiler"])
    return values


def _cmds(stage: str, mode: Mode, *runs: str, retry: bool = False) -> list[str]:
    lines: list[str] = []
    for run in runs:
        # Builtin install commands retry like Travis's, but the log shows the plain command.
        lines += render_cmd(Cmd(f"travis_retry {run}" if retry else run, run), stage, mode)
    return lines


def _if(branches: list[tuple[str, list[str]]], otherwise: list[str] | None = None) -> list[str]:
    """An if/elif/else chain over bash test expressions."""
    lines: list[str] = []
    for index, (test, body) in enumerate(branches):
        lines.append(("if" if index == 0 else "elif") + f" {test}; then")
        lines += ["  " + line for line in body or [":"]]
    if otherwise:
        lines.append("else")
        lines += ["  " + line for line in otherwise]
    lines.append("fi")
    return lines


def default_install(language: str) -> list[str] | None:
    """Bash lines of the builtin install step, or None when the language has none."""

    def run(*commands: str) -> list[str]:
        return _cmds("install", "assert", *commands, retry=True)

    if language == "python":
        return _if(
            [
                ("[[ -f Requirements.txt ]]", run("pip install -r Requirements.txt")),
                ("[[ -f requirements.txt ]]", run("pip install -r requirements.txt")),
            ],
            [
                echo(
                    "Could not locate requirements.txt. Override the install: key in your "
                    ".travis.yml to install dependencies."
                )
            ],
        )
    if language == "node_js":
        return _if(
            [
                (
                    "[[ -f package.json ]]",
                    _if(
                        [
                            ("[[ -f yarn.lock ]]", run("yarn --frozen-lockfile")),
                            ("[[ -f package-lock.json || -f npm-shrinkwrap.json ]]", run("npm ci")),
                        ],
                        run("npm install"),
                    ),
                )
            ]
        )
    if language == "ruby":
        return _if(
            [
                (
                    "[[ -f Gemfile ]]",
                    _if(
                        [
                            (
                                "[[ -f Gemfile.lock ]]",
                                run("bundle install --jobs=3 --retry=3 --deployment"),
                            )
                        ],
                        run("bundle install --jobs=3 --retry=3"),
                    ),
                )
            ]
        )
    if language == "go":
        return _if([("[[ ! -f Makefile ]]", run("go get -v -t ./..."))])
    if language == "java":
        return _if(
            [
                ("[[ -f gradlew ]]", run("./gradlew assemble")),
                ("[[ -f build.gradle || -f build.gradle.kts ]]", run("gradle assemble")),
                ("[[ -f mvnw ]]", run(f"./mvnw install {MAVEN_INSTALL}")),
                ("[[ -f pom.xml ]]", run(f"mvn install {MAVEN_INSTALL}")),
            ]
        )
    if language == "perl":
        return run("cpanm --quiet --installdeps --notest .")
    return None


def default_script(language: str) -> list[str] | None:
    """Bash lines of the builtin script step, or None when the language has none."""

    def run(*commands: str) -> list[str]:
        return _cmds("script", "result", *commands)

    if language == "python":
        return [
            echo("Please override the script: key in your .travis.yml to run tests.", "RED"),
            "export TRAVIS_TEST_RESULT=1",
        ]
    if language == "node_js":
        return _if(
            [
                (
                    "[[ -f package.json ]]",
                    _if([("[[ -f yarn.lock ]]", run("yarn test"))], run("npm test")),
                )
            ],
            run("make test"),
        )
    if language == "ruby":
        return _if([("[[ -f Gemfile ]]", run("bundle exec rake"))], run("rake"))
    if language == "go":
        return _if([("[[ -f Makefile ]]", run("make"))], run("go test -v ./..."))
    if language == "rust":
        return run("cargo build --verbose", "cargo test --verbose")
    if language in ("c", "cpp"):
        return run("./configure && make && make test")
    if language == "php":
        return run("phpunit")
    if language == "java":
        return _if(
            [
                ("[[ -f gradlew ]]", run("./gradlew check")),
                ("[[ -f build.gradle || -f build.gradle.kts ]]", run("gradle check")),
                ("[[ -f mvnw ]]", run("./mvnw test -B")),
                ("[[ -f pom.xml ]]", run("mvn test -B")),
            ],
            run("ant test"),
        )
    if language == "perl":
        return _if(
            [
                ("[[ -f Build.PL ]]", run("perl Build.PL && ./Build && ./Build test")),
                ("[[ -f Makefile.PL ]]", run("perl Makefile.PL && make test")),
            ],
            run("make test"),
        )
    return None


# language → (config key of its version, bash set-up function in bash/languages.sh)
SETUP = {
    "python": ("python", "_rh_setup_python"),
    "node_js": ("node_js", "_rh_setup_node"),
    "ruby": ("rvm", "_rh_setup_ruby"),
    "go": ("go", "_rh_setup_go"),
    "rust": ("rust", "_rh_setup_rust"),
}

# Travis's `announce` stage: tool versions, echoed but not timed.
ANNOUNCE = {
    "python": ("python --version", "pip --version"),
    "node_js": ("node --version", "npm --version"),
    "ruby": ("ruby --version", "gem --version", "bundle --version"),
    "go": ("go version",),
    "rust": ("rustc --version", "cargo --version"),
    "java": ("java -Xmx32m -version", "javac -J-Xmx32m -version"),
    "c": ("$CC --version",),
    "cpp": ("$CXX --version",),
    "php": ("php --version",),
}


def needs_library(language: str) -> bool:
    """Whether the script needs bash/languages.sh."""
    return language in SETUP


def setup_lines(language: str, config: dict[str, Any]) -> list[str]:
    """The `setup` and `announce` stages: pick the version, export compilers, show versions."""
    lines: list[str] = []
    if language in SETUP:
        key, function = SETUP[language]
        version = _one(config.get(key) or "")
        lines.append(f"{function} {quote(version)}")
    if language in ("c", "cpp"):
        compiler = _one(config.get("compiler") or "gcc")
        cxx = {"gcc": "g++", "clang": "clang++"}.get(compiler, compiler)
        # Values pass through `export NAME=<shell text>`, so quote them as shell words.
        lines += [f"_rh_export CC {quote(word(compiler))}", f"_rh_export CXX {quote(word(cxx))}"]
    for cmd in ANNOUNCE.get(language, ()):
        lines += render_cmd(Cmd(cmd, timing=False), "announce", "none")
    return lines
