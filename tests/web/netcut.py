"""A TCP proxy that can lose the network: every connection through it is cut, and new ones refused,
until it is brought back. Puts a real network loss between the browser and Envoy (TLS passes through)."""

from __future__ import annotations

import asyncio
import threading

from stack import free_port


class CuttableProxy:
    def __init__(self, target_port: int) -> None:
        self.port, self.target_port = free_port(), target_port
        self.online = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        started.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.online:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def _cut(self) -> None:
        self.online = False
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, as when the network goes
        self._writers.clear()

    def down(self) -> None:
        self._loop.call_soon_threadsafe(self._cut)

    def up(self) -> None:
        self.online = True

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
