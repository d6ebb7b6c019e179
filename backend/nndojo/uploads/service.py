"""The uploads a server holds: their descriptions in memory (the catalog, the spec check and the access rules read
them on every request; a class's uploads are a few kilobytes of text), their data in the database.

Who may see or change one is the API's to decide (nndojo.api.access, the same rules as for jobs): entries carry
owner_id, class_id and shared as jobs do.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from nndojo.datasets.info import DatasetInfo, forget, remember
from nndojo.datasets.upload import Upload, info_for, pack
from nndojo.uploads.store import UploadStore

BLOB_CACHE = 8  # packed uploads kept for submissions: queued jobs of one set share one copy


def entry_info(entry: dict[str, Any]) -> DatasetInfo:
    return info_for(entry["name"], entry["title"], entry["task"], len(entry["features"]), entry["classes"], entry["n_rows"])


class Uploads:
    def __init__(self, store: UploadStore):
        self.store = store
        self.entries: dict[str, dict[str, Any]] = {}
        self._blobs: OrderedDict[str, bytes] = OrderedDict()  # touched on the event loop only
        for entry in store.entries():
            self._keep(entry)

    def _keep(self, entry: dict[str, Any]) -> None:
        self.entries[entry["name"]] = entry
        remember(entry_info(entry))  # the spec check and the catalog find it by name from now on

    def _drop(self, name: str) -> None:
        self.entries.pop(name, None)
        forget(name)
        self._blobs.pop(name, None)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.entries.get(name)

    async def add(self, upload: Upload, owner_id: str | None, class_id: str | None) -> dict[str, Any]:
        blob = await asyncio.to_thread(pack, upload)
        entry = await asyncio.to_thread(self.store.add, upload, blob, owner_id, class_id)
        self._keep(entry)
        return entry

    async def blob(self, name: str) -> bytes | None:
        """The packed upload a job takes to its worker (nndojo.datasets.upload.unpack reads it)."""
        if name in self._blobs:
            self._blobs.move_to_end(name)
            return self._blobs[name]
        blob = await asyncio.to_thread(self.store.blob, name)
        if blob is not None and name in self.entries:  # not deleted meanwhile
            self._blobs[name] = blob
            while len(self._blobs) > BLOB_CACHE:
                self._blobs.popitem(last=False)
        return blob

    async def load(self, name: str) -> Upload | None:
        """The upload with its arrays: what an export writes out."""
        return await asyncio.to_thread(self.store.load, name)

    async def set_shared(self, name: str, shared: bool) -> dict[str, Any]:
        await asyncio.to_thread(self.store.set_shared, name, shared)
        self.entries[name] = {**self.entries[name], "shared": shared}
        return self.entries[name]

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self.store.delete, name)
        self._drop(name)

    async def delete_class(self, class_id: str) -> None:
        for name in await asyncio.to_thread(self.store.delete_class, class_id):
            self._drop(name)

    def count_of(self, owner_id: str) -> int:
        return sum(1 for entry in self.entries.values() if entry["owner_id"] == owner_id)
