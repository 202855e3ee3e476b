"""Key tables of `.travis.yml`: known keys, aliases, enums, expansion order, language support.

Facts only (names and relations as Travis documents them); the logic lives elsewhere.
"""

from __future__ import annotations

import re

# Matrix expansion keys in Travis's order: `os` varies slowest; `env` (env.jobs) comes last.
EXPAND_KEYS: tuple[str, ...] = (
    "os", "arch", "compiler", "osx_image", "jdk", "crystal", "dotnet", "mono", "solution",
    "d", "dart", "dart_task", "elixir", "otp_release", "elm", "node_js", "go", "hhvm", "php",
    "ghc", "haxe", "julia", "matlab", "nix", "perl", "perl6", "python", "r", "rvm", "gemfile",
    "xcode_scheme", "xcode_sdk", "rust", "scala", "smalltalk", "smalltalk_config",
    "smalltalk_vm",
)  # fmt: skip

PHASES: tuple[str, ...] = (
    "before_install", "install", "before_script", "script", "before_cache", "after_success",
    "after_failure", "before_deploy", "after_deploy", "after_script",
)  # fmt: skip

LANGUAGES: tuple[str, ...] = (
    "android", "c", "clojure", "cpp", "crystal", "csharp", "d", "dart", "elixir", "elm",
    "erlang", "generic", "go", "groovy", "hack", "haskell", "haxe", "java", "julia", "matlab",
    "minimal", "nix", "node_js", "objective-c", "perl", "perl6", "php", "python", "r", "ruby",
    "rust", "scala", "shell", "smalltalk",
)  # fmt: skip

LANGUAGE_ALIASES: dict[str, str] = {
    "c++": "cpp", "golang": "go", "jvm": "java", "javascript": "node_js", "js": "node_js",
    "node": "node_js", "nodejs": "node_js", "node.js": "node_js", "objective_c": "objective-c",
    "objective c": "objective-c", "objc": "objective-c", "obj-c": "objective-c",
    "swift": "objective-c", "bash": "shell", "sh": "shell", "c#": "csharp",
    "f#": "csharp", "fsharp": "csharp", "visualbasic": "csharp",
}  # fmt: skip

OS_VALUES: tuple[str, ...] = ("linux", "osx", "windows", "freebsd", "linux-ppc64le")
OS_ALIASES: dict[str, str] = {
    "ubuntu": "linux", "mac": "osx", "macos": "osx", "macosx": "osx", "ios": "osx",
    "win": "windows", "bsd": "freebsd",
}  # fmt: skip

ARCH_VALUES: tuple[str, ...] = ("amd64", "arm64", "arm64-graviton2", "ppc64le", "s390x", "i386")
ARCH_ALIASES: dict[str, str] = {
    "x86_64": "amd64", "x64": "amd64", "power": "ppc64le", "ppc": "ppc64le",
    "ppc64": "ppc64le", "x86": "i386", "arm": "arm64", "aarch64": "arm64",
}  # fmt: skip

DIST_VALUES: tuple[str, ...] = (
    "precise", "trusty", "xenial", "bionic", "focal", "jammy", "noble", "server-2016", "rhel8",
)  # fmt: skip

# Travis's internal build images, selectable with `stack:` (experimental).
STACKS: tuple[str, ...] = (
    "connie", "amethyst", "garnet", "stevonnie", "opal", "sardonyx", "onion", "cookiecat",
)  # fmt: skip
# `version: "~> 1.0"`: the config format version a file asks for.
VERSION_FORMAT = re.compile(r"^(~>|>|>=|=|<=|<) (\d+(?:\.\d+)?(?:\.\d+)?)$")

SERVICE_ALIASES: dict[str, str] = {
    "memcache": "memcached", "postgres": "postgresql", "rabbitmq-server": "rabbitmq",
    "redis-server": "redis",
}  # fmt: skip

# Keys accepted at the root (besides job keys).
ROOT_KEYS: frozenset[str] = frozenset(
    {
        "language", "os", "dist", "arch", "stack", "sudo", "import", "env", "compiler",
        "osx_image", "stages", "jobs", "notifications", "version", "vm", "conditions",
        "filter_secrets", "trace", "perforce_test_path", "vault", "keep_netrc", "if",
        "group", "virt", "addons", "branches", "cache", "deploy", "git", "services",
        "workspaces", "keys", "source_key", "os_image", "podfile", "timeout",
    }
)  # fmt: skip

# Keys that only make sense inside a job entry (`jobs.include[]`).
JOB_ONLY_KEYS: frozenset[str] = frozenset({"name", "stage", "allow_failure"})

# Version keys and language-specific keys, by language (a key not listed for a language is
# dropped from its jobs). Keys missing from every list are language-independent.
_OBJC_KEYS: frozenset[str] = frozenset(
    {
        "rvm", "gemfile", "xcode_scheme", "xcode_sdk", "xcode_project", "xcode_workspace",
        "xctool_args", "podfile", "bundler_args", "compiler", "jdk",
    }
)  # fmt: skip
_R_KEYS: frozenset[str] = frozenset(
    {
        "r", "r_packages", "r_github_packages", "r_binary_packages", "bioc_packages",
        "apt_packages", "brew_packages", "cran", "repos", "r_build_args", "r_check_args",
        "r_check_revdep", "warnings_are_errors", "remotes", "latex", "fortran", "pandoc",
        "pandoc_version", "use_bioc", "bioc_check", "bioc_required", "bioc_use_devel",
        "disable_homebrew", "bioc",
    }
)  # fmt: skip
LANGUAGE_KEYS: dict[str, frozenset[str]] = {
    "android": frozenset({"jdk", "android"}),
    "c": frozenset({"compiler"}),
    "clojure": frozenset({"jdk", "lein"}),
    "cpp": frozenset({"compiler"}),
    "crystal": frozenset({"crystal"}),
    "csharp": frozenset({"dotnet", "mono", "solution"}),
    "d": frozenset({"d"}),
    "dart": frozenset({"dart", "dart_task", "with_content_shell"}),
    "elixir": frozenset({"elixir", "otp_release"}),
    "elm": frozenset({"elm", "elm_format", "elm_test", "node_js"}),
    "erlang": frozenset({"otp_release"}),
    "generic": frozenset(),
    "go": frozenset({"go", "gobuild_args", "go_import_path", "gimme_config"}),
    "groovy": frozenset({"jdk"}),
    "hack": frozenset({"hhvm", "php"}),
    "haskell": frozenset({"ghc", "cabal"}),
    "haxe": frozenset({"haxe", "hxml", "neko"}),
    "java": frozenset({"jdk"}),
    "julia": frozenset({"julia"}),
    "matlab": frozenset({"matlab"}),
    "minimal": frozenset(),
    "nix": frozenset({"nix"}),
    "node_js": frozenset({"node_js", "npm_args"}),
    "objective-c": _OBJC_KEYS,
    "perl": frozenset({"perl"}),
    "perl6": frozenset({"perl6"}),
    "php": frozenset({"php", "composer_args"}),
    "python": frozenset({"python", "virtualenv"}),
    "r": _R_KEYS,
    "ruby": frozenset({"rvm", "gemfile", "jdk", "bundler_args"}),
    "rust": frozenset({"rust"}),
    "scala": frozenset({"scala", "jdk", "sbt_args"}),
    "shell": frozenset(),
    "smalltalk": frozenset({"smalltalk", "smalltalk_config", "smalltalk_vm", "smalltalk_edge"}),
}

LANGUAGE_SPECIFIC: frozenset[str] = frozenset().union(*LANGUAGE_KEYS.values())

# Keys that only apply on some operating systems.
OS_ONLY: dict[str, frozenset[str]] = {
    "osx_image": frozenset({"osx"}),
    "xcode_scheme": frozenset({"osx"}),
    "xcode_sdk": frozenset({"osx"}),
}
OS_EXCEPT: dict[str, frozenset[str]] = {
    "arch": frozenset({"osx", "windows"}),
    "dist": frozenset({"osx", "windows"}),
}

# Language keys that hold a list of strings (a single string is wrapped).
SEQ_KEYS: frozenset[str] = frozenset(
    {
        "r_packages", "r_github_packages", "r_binary_packages", "bioc_packages",
        "apt_packages", "brew_packages", "hxml",
    }
)  # fmt: skip

# Version keys hold strings: `python: 3.10` must stay "3.10".
VERSION_KEYS: frozenset[str] = frozenset(EXPAND_KEYS) - {"os", "arch"}

# Root keys that are not merged into each job.
NOT_SHARED: frozenset[str] = frozenset(
    {
        "jobs", "import", "stages", "notifications", "version", "allow_failure",
        "global_env", "merge_mode", "if", "conditions", "env", "branches",
    }
)  # fmt: skip

# Aliases valid wherever job keys are (root and job entries).
JOB_ALIASES: dict[str, str] = {
    "node": "node_js", "ruby": "rvm", "rbenv": "rvm", "gemfiles": "gemfile",
}  # fmt: skip
ROOT_ALIASES: dict[str, str] = {
    **JOB_ALIASES, "matrix": "jobs", "branch": "branches", "stage": "stages",
}  # fmt: skip

JOBS_ALIASES: dict[str, str] = {
    "allowed_failures": "allow_failures", "allow_failure": "allow_failures",
    "fast_failure": "fast_finish", "includes": "include", "excludes": "exclude",
}  # fmt: skip

# Root keys that belong under `jobs:`; Travis moves them there with a warning.
MISPLACED_JOBS_KEYS: tuple[str, ...] = ("include", "exclude", "allow_failures", "fast_finish")

# Values of `language` and `os` that Travis fills in with `defaults`.
DEFAULT_LANGUAGE = "ruby"
DEFAULT_OS = "linux"
DEFAULT_DIST = "focal"
DEFAULT_STAGE = "test"

# Travis's documented limit on the number of jobs in one build.
MAX_JOBS = 200
