"""`plgen bundle`: one reproducible zip per tenant holding its folder (the same input gives
the same sha256: sorted entries, fixed timestamps and permissions)."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

from .errors import Location, ManifestError, Problem

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def zip_bytes(files: dict[str, str], prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{prefix}/{path}", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permissions below are honoured
            info.external_attr = (0o100644 & 0xFFFF) << 16
            archive.writestr(info, files[path].encode("utf-8"), compresslevel=9)
    return buffer.getvalue()


def tenant_files(rendered_files: dict[str, str], tenant_id: str) -> dict[str, str]:
    prefix = f"tenants/{tenant_id}/"
    return {path[len(prefix):]: text for path, text in rendered_files.items() if path.startswith(prefix)}


def check_tenants(manifest, ids: tuple[str, ...], source: str) -> None:
    known = {t.id: t for t in manifest.tenants}
    problems = []
    for tenant_id in ids:
        tenant = known.get(tenant_id)
        if tenant is None:
            problems.append(Problem(Location(source), f"no tenant {tenant_id!r} in the manifest"))
        elif tenant.state == "offboarded":
            problems.append(Problem(Location(source), f"tenant {tenant_id!r} is offboarded: it has no bundle"))
    if problems:
        raise ManifestError(problems)


def write_zip(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
