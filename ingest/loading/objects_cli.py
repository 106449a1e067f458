"""``nsp objects list|restrict``: tracked objects, and the NCC's restriction of some of them.

Regulation (EU) 2019/1896 Art 25(4): the NCC may restrict information, for example on
military assets. A restricted object (``sql/migrations/0010_restricted_objects.sql``), its
positions and the patrols of that unit (``0011_restricted_patrols.sql``) are seen only by users
who see every section; a sector commander or a wall of
some sections does not see it. Each change is written to the audit log.
"""

from __future__ import annotations

import click

from nsp import access, db
from nsp.cli_support import actor_option

KINDS = ("own", "vessel", "aircraft", "uav", "vehicle", "person", "other")


@click.group("objects")
def objects():
    """Tracked objects (own assets, vessels): list them; restrict who sees them."""


@objects.command("list")
@click.option("--restricted", "only_restricted", is_flag=True, help="only the restricted ones")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="only this kind")
def objects_list(only_restricted: bool, kind: str | None):
    """List tracked objects: id, kind, name, call sign, type, restricted."""
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT object_id, kind, name, callsign, object_type, restricted FROM tracked_object"
            " WHERE (NOT %(only)s OR restricted) AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)"
            " ORDER BY object_id", {"only": only_restricted, "kind": kind}).fetchall()
    if not rows:
        click.echo("no tracked objects" + (" are restricted" if only_restricted else ""))
        return
    click.echo(f"{'object':<28} {'kind':<9} {'name':<22} {'call sign':<12} {'type':<14} restricted")
    for r in rows:
        click.echo(f"{r['object_id']:<28} {r['kind']:<9} {(r['name'] or '-')[:22]:<22} {(r['callsign'] or '-')[:12]:<12} "
                   f"{(r['object_type'] or '-')[:14]:<14} {'yes' if r['restricted'] else 'no'}")


@objects.command("restrict")
@click.argument("object_ids", nargs=-1, required=True)
@click.option("--lift", is_flag=True, help="lift the restriction instead")
@click.option("--reason", required=True, help="why (recorded in the audit log)")
@click.option("--kind", type=click.Choice(KINDS), default="own", show_default=True,
              help="kind of an object not seen yet (restricted before its first report)")
@actor_option
def objects_restrict(object_ids, lift: bool, reason: str, kind: str, actor: str):
    """Restrict OBJECT_IDS (as feeds name them: ANDROID-<callsign> for CoT, MMSI:<n> for
    AIS, the unit for GPX) to users who see every section, or --lift it. An id not seen yet
    is recorded now, so that its first report is already restricted."""
    who = actor
    with db.connect() as conn, conn.transaction():
        for object_id in object_ids:
            created = conn.execute(
                "INSERT INTO tracked_object (object_id, kind, restricted) VALUES (%s, %s, %s)"
                " ON CONFLICT (object_id) DO UPDATE SET restricted = EXCLUDED.restricted, updated_at = now()"
                " RETURNING (xmax = 0) AS created", (object_id, kind, not lift)).fetchone()["created"]
            positions = conn.execute("UPDATE asset_position SET restricted = %s WHERE object_id = %s",
                                     (not lift, object_id)).rowcount
            patrols = conn.execute("UPDATE patrol SET restricted = %s WHERE unit = %s",
                                   (not lift, object_id)).rowcount
            access.audit(conn, who, "object_unrestrict" if lift else "object_restrict", object_id,
                         {"reason": reason, "new_object": created, "positions": positions, "patrols": patrols})
            click.echo(f"{object_id}: {'restriction lifted' if lift else 'restricted'}"
                       + (" (not seen yet: recorded)" if created else ""))
