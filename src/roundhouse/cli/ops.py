"""`roundhouse backup` and `roundhouse restore` (docs/operations.md, "Backups")."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from roundhouse.cli.common import ConfigOpt, JsonOpt, app, echo_json, fail

PassphraseOpt = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="File whose first line is the archive's passphrase."),
]


def _passphrase(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        fail(f"The passphrase file {path} cannot be read ({error.strerror}).")
    if not lines or not lines[0]:
        fail(f"The passphrase file {path} is empty; write the passphrase on its first line.")
    return lines[0]


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="The archive to write (tar.gz).")],
    config: ConfigOpt = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check FILE's checksums and manifest; write nothing.")
    ] = False,
    with_caches: Annotated[
        bool, typer.Option("--with-caches", help="Include data_dir/cache (build caches).")
    ] = False,
    include_key: Annotated[
        bool,
        typer.Option("--include-key", help="Include the encryption key; needs --passphrase-file."),
    ] = False,
    passphrase_file: PassphraseOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write a backup archive while the platform runs, or check one with --verify."""
    from roundhouse import settings as settings_module
    from roundhouse.ops import OpsError
    from roundhouse.ops.backup import backup as write_backup
    from roundhouse.ops.restore import verify as verify_archive

    passphrase = _passphrase(passphrase_file)
    try:
        if verify:
            manifest = verify_archive(file, passphrase)
            verb = "is intact"
        else:
            if include_key and passphrase is None:
                fail("--include-key needs --passphrase-file: an archive with the key is encrypted.")
            settings = settings_module.load(config)
            manifest = write_backup(
                settings,
                file,
                with_caches=with_caches,
                passphrase=passphrase if include_key else None,
            )
            verb = "written"
    except (OpsError, settings_module.SettingsError) as error:
        fail(str(error))
    if json:
        echo_json({"file": str(file), **asdict(manifest)})
        return
    counts = ", ".join(f"{n} {name}" for name, n in sorted(manifest.counts.items()))
    typer.echo(
        f"{file} {verb}: {manifest.database_kind} database at revision "
        f"{manifest.alembic_revision} ({counts}), made {manifest.created_at}"
        + (", with the encryption key" if manifest.key_included else "")
        + (", with caches" if manifest.caches else "")
        + "."
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="The archive that `roundhouse backup` wrote.")],
    config: ConfigOpt = None,
    passphrase_file: PassphraseOpt = None,
    json: JsonOpt = False,
) -> None:
    """Restore an archive into an empty installation (stop its platform first)."""
    from roundhouse import settings as settings_module
    from roundhouse.ops import OpsError
    from roundhouse.ops.restore import restore as restore_archive

    passphrase = _passphrase(passphrase_file)
    try:
        settings = settings_module.load(config)
        restored = restore_archive(settings, file, passphrase)
    except (OpsError, settings_module.SettingsError) as error:
        fail(str(error))
    manifest = restored.manifest
    if json:
        echo_json(
            {
                "file": str(file),
                "revision": restored.revision,
                "key_written": str(restored.key_written or "") or None,
                "key_moved_to": str(restored.key_moved_to or "") or None,
                "manifest": asdict(manifest),
            }
        )
        return
    counts = ", ".join(f"{n} {name}" for name, n in sorted(manifest.counts.items()))
    typer.echo(
        f"Restored {file} ({counts}) from a {manifest.database_kind} backup made "
        f"{manifest.created_at}; the database is at revision {restored.revision}."
    )
    if restored.key_written:
        typer.echo(f"The archive's encryption key is now in {restored.key_written}.")
    if restored.key_moved_to:
        typer.echo(f"The key that was there before is kept in {restored.key_moved_to}.")
