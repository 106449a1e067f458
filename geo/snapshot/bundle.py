"""manifest.json, the .zip beside the folder, and keeping the last N snapshots."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

PREFIX = "nsp-snapshot-"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path, manifest: dict) -> dict:
    """Add sha256 and size of every file in ``folder`` and write manifest.json."""
    manifest["files"] = {
        p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir()) if p.is_file() and p.name != "manifest.json"
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def publish(tmp: Path, folder: Path) -> Path:
    """Move the finished ``tmp`` folder to ``folder`` and write ``folder.zip``; both appear whole."""
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    zip_path = folder.with_name(folder.name + ".zip")
    part = zip_path.with_name("." + zip_path.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for p in sorted(folder.iterdir()):
            z.write(p, arcname=f"{folder.name}/{p.name}")
    os.replace(part, zip_path)
    return zip_path


def prune(out_dir: Path, keep: int, prefix: str = PREFIX) -> list[str]:
    """Keep the ``keep`` newest exports named ``prefix…`` (by their week or month label, then
    time) in ``out_dir``."""
    folders = sorted((p for p in out_dir.glob(prefix + "*") if p.is_dir()),
                     key=lambda p: (p.name[len(prefix):len(prefix) + 8], p.stat().st_mtime), reverse=True)
    removed = []
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)
        old.with_name(old.name + ".zip").unlink(missing_ok=True)
        removed.append(old.name)
    return removed
