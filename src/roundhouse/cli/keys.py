"""`roundhouse key export|rotate`: the instance encryption key (docs/operations.md,
"Encryption key"). Both run on the platform machine with the platform's settings.
"""

from __future__ import annotations

import typer

from roundhouse.cli.common import ConfigOpt, JsonOpt, app, echo_json, fail

key_app = typer.Typer(no_args_is_help=True, help="The instance encryption key.")
app.add_typer(key_app, name="key")


@key_app.command("export")
def export(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the key ring (current key first) for safe keeping; it decrypts every secret."""
    from roundhouse import settings as settings_module
    from roundhouse.platform.secrets import encryption_key, key_id

    try:
        keys = encryption_key(settings_module.load(config)).splitlines()
    except settings_module.SettingsError as error:
        fail(str(error))
    if as_json:
        return echo_json(
            {"keys": [{"id": key_id(k), "key": k, "current": n == 0} for n, k in enumerate(keys)]}
        )
    typer.echo("\n".join(keys))
    typer.echo(
        f"Key id {key_id(keys[0])}. Keep it apart from the backups; whoever holds it can read"
        " every secret in them.",
        err=True,
    )


@key_app.command("rotate")
def rotate(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Make a new key, re-encrypt every secret in the database with it, drop the old key."""
    import asyncio

    from roundhouse import settings as settings_module
    from roundhouse.platform.rekey import rotate as rotate_key
    from roundhouse.platform.secrets import SecretsError

    try:
        rotation = asyncio.run(rotate_key(settings_module.load(config)))
    except (settings_module.SettingsError, SecretsError) as error:
        fail(str(error))
    counts = dict(rotation.rewritten)
    if as_json:
        return echo_json({"old_ids": rotation.old_ids, "new_id": rotation.new_id, "counts": counts})
    earlier = counts.get("fernet", 0) + counts.get("plain", 0)
    total = sum(counts.values())
    typer.echo(
        f"The encryption key is now {rotation.new_id} (was {', '.join(rotation.old_ids)});"
        f" {total} secret{'' if total == 1 else 's'} re-encrypted"
        + (f", {earlier} of them written by an earlier version" if earlier else "")
        + ". Run `roundhouse key export` and replace the key you keep in safe keeping."
    )
