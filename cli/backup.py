"""``gridgeo backup FILE`` and ``gridgeo restore FILE``: the store and its photos, whole."""

from __future__ import annotations

from pathlib import Path

import click

from cli.db import database, load_settings
from gridgeo.errors import GridgeoError


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_cmd(file: Path) -> None:
    """Back up the database and the photos into FILE (while the service runs).

    备份数据库与照片到 FILE(服务运行时亦可)。One tar file: a pg_dump of one snapshot, the photo
    folder and a manifest of SHA-256 checksums and row counts.
    """
    from gridgeo.backup import backup

    settings = load_settings()
    with database() as db:
        try:
            done = backup(db.engine, settings.photo_dir, file, pg_bin=settings.database.pg_bin)
        except GridgeoError as exc:
            raise click.ClickException(exc.message) from exc
    rows = sum(done.tables.values())
    click.echo(
        f"备份完成 backup written: {done.path} — {len(done.tables)} tables, {rows:,} rows, "
        f"{done.files} files ({done.bytes:,} bytes)"
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace what the data folder holds.")
def restore_cmd(file: Path, force: bool) -> None:
    """Restore FILE (from gridgeo backup) into the data folder, which must be empty.

    恢复备份到数据目录(须为空,--force 则替换)。The data folder is GRIDGEO_DATA_DIR; the
    embedded cluster is created there. Every checksum is checked before anything is written.
    """
    from gridgeo.backup import restore

    settings = load_settings()
    if settings.database.database_url:
        raise click.ClickException(
            "恢复只用于内置数据库 restore fills the embedded database of a data folder; "
            "unset GRIDGEO_DATABASE_URL (or use pg_restore on database.dump yourself)"
        )
    try:
        done = restore(
            file, settings.database.data_dir, force=force, pg_bin=settings.database.pg_bin
        )
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc
    rows = sum(done.tables.values())
    click.echo(
        f"恢复完成 restored into {settings.database.data_dir}: {len(done.tables)} tables, "
        f"{rows:,} rows, {done.files} files checked"
    )
