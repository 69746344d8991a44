"""The window's connection to a Dask cluster, kept while its batches run there.

    Start (or resume) a batch whose settings name a cluster
        ─► attach(processor, batch, spec): connect on the window's loop, or keep
           the connection already open to the same cluster; check the batch on a
           worker; the engine runs it there (session/cluster.py) ─► ClusterError,
           one line, and the batch is not started
    Run on ▸ Test ─► test(settings): connect, describe, disconnect (or describe the
           open connection) ─► one line under the Run on row
    the window closes ─► close()

A batch of this computer needs nothing of this. One cluster at a time: another
address is refused while a batch still runs on the first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from batchgui.core.models import Batch
from batchgui.core.operation import OperationSpec
from batchgui.core.processor import BatchProcessor
from batchgui.session import ClusterSettings, RunSettings
from batchgui.session.cluster import ClusterConnection, ClusterError

if TYPE_CHECKING:
    from batchgui.gui.run_on import RunOnRow

log = logging.getLogger(__name__)


class WindowClusters:
    def __init__(self) -> None:
        self.connection: ClusterConnection | None = None
        self._batches: list[Batch] = []  # batches started on the open connection

    async def attach(self, processor: BatchProcessor, batch: Batch, spec: OperationSpec) -> None:
        """Make the engine able to run this batch where its settings say (nothing to
        do for this computer); ClusterError, one line, if it cannot."""
        settings = RunSettings.of_batch(batch).cluster
        if settings is None:
            return
        batch.mode = "cluster"
        connection = self.connection
        if connection is not None and connection.settings != settings:
            if any(not b.is_done for b in self._batches):
                raise ClusterError(
                    f"a batch still runs on {connection.address}; one cluster at a time"
                )
            await self.close()
            connection = None
        if connection is None:
            connection = self.connection = await ClusterConnection.open(settings)
        await connection.attach(processor, batch, spec)
        self._batches = [b for b in self._batches if not b.is_done] + [batch]

    async def test(self, settings: ClusterSettings, row: RunOnRow) -> None:
        """Test connection: the cluster's workers, threads and versions, or why not."""
        try:
            if self.connection is not None and self.connection.settings == settings:
                facts = await self.connection.describe()
            else:
                connection = await ClusterConnection.open(settings)
                try:
                    await connection.threads()  # a local cluster's workers are starting
                    facts = await connection.describe()
                finally:
                    await connection.close()
        except ClusterError as exc:
            row.show_result(str(exc), False)
            return
        row.show_result(facts.describe(), True)

    async def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await connection.close()
        self._batches = []
