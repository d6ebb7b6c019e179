"""Uploaded datasets in the SQL database: the description in columns, the data as one packed blob."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, delete, select, update

from nndojo.datasets.upload import Upload, unpack
from nndojo.db.schema import UploadRow
from nndojo.jobs.store import utc_now

DESCRIBED = [c for c in UploadRow.__table__.columns if c.name != "data"]  # every column but the blob


def _entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's description as the service keeps it: lists decoded, the blob left out."""
    classes = row["classes"]
    entry = {c.name: row[c.name] for c in DESCRIBED}
    return {
        **entry,
        "features": json.loads(row["features"]),
        "classes": None if classes is None else json.loads(classes),
        "shared": bool(row["shared"]),
    }


class UploadStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, upload: Upload, blob: bytes, owner_id: str | None, class_id: str | None) -> dict[str, Any]:
        row = {
            "name": upload.name,
            "title": upload.title,
            "task": upload.task,
            "target": upload.target,
            "features": json.dumps(upload.features),
            "classes": None if upload.classes is None else json.dumps(upload.classes),
            "n_rows": len(upload.x),
            "created_at": utc_now(),
            "owner_id": owner_id,
            "class_id": class_id,
            "shared": False,
        }
        with self.engine.begin() as conn:
            conn.execute(UploadRow.__table__.insert().values(**row, data=blob))
        return _entry(row)

    def entries(self) -> list[dict[str, Any]]:
        """Every upload's description, oldest first (no data)."""
        with self.engine.connect() as conn:
            return [_entry(row._mapping) for row in conn.execute(select(*DESCRIBED).order_by(UploadRow.created_at))]

    def blob(self, name: str) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(UploadRow.data).where(UploadRow.name == name)).scalar()

    def load(self, name: str) -> Upload | None:
        """The upload with its arrays (nndojo.datasets.upload.Upload), or None."""
        blob = self.blob(name)
        return None if blob is None else unpack(blob)

    def set_shared(self, name: str, shared: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(UploadRow).where(UploadRow.name == name).values(shared=shared))

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(UploadRow).where(UploadRow.name == name))

    def delete_class(self, class_id: str) -> list[str]:
        """A deleted class's uploads go with it; returns their names."""
        with self.engine.begin() as conn:
            names = list(conn.execute(select(UploadRow.name).where(UploadRow.class_id == class_id)).scalars())
            conn.execute(delete(UploadRow).where(UploadRow.class_id == class_id))
        return names
