"""A tiny Language Server Protocol client over stdio, enough to drive ``yaml-language-server`` in tests.

JSON-RPC 2.0 messages framed with ``Content-Length`` headers. A reader thread routes responses to the
waiting request and keeps every notification (``textDocument/publishDiagnostics``); requests from the
server (``workspace/configuration``, ``client/registerCapability``, ...) get a plain answer so it never
blocks. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVER_JS = HERE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
DEFAULT_TIMEOUT = 20.0


class LspError(RuntimeError):
    """The server answered with an error, died, or did not answer in time."""


def server_command() -> list[str] | None:
    """``node <yaml-language-server> --stdio``, or None when node or the installed server is missing."""
    node = shutil.which("node")
    if node is None or not SERVER_JS.is_file():
        return None
    return [node, str(SERVER_JS), "--stdio"]


class LspClient:
    """One server process; use as a context manager (the process is killed on exit)."""

    def __init__(self, command: list[str], settings: dict[str, Any] | None = None) -> None:
        self.command = command
        self.settings = settings or {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._next_id = 0
        self._lock = threading.Lock()
        self._pending: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._notes: list[dict[str, Any]] = []
        self._notes_changed = threading.Condition()
        self._reader: threading.Thread | None = None
        self.stderr_tail: deque[str] = deque(maxlen=40)

    # ------------------------------------------------------------------ process

    def start(self, root: Path, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        self._reader = threading.Thread(target=self._read_loop, name="lsp-reader", daemon=True)
        self._reader.start()
        threading.Thread(target=self._drain_stderr, name="lsp-stderr", daemon=True).start()
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "textDocument": {
                        "completion": {
                            "completionItem": {
                                "snippetSupport": True,
                                "documentationFormat": ["markdown", "plaintext"],
                            }
                        },
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                        "synchronization": {"didSave": True},
                    },
                    # settings come by workspace/didChangeConfiguration, not by pull
                    "workspace": {"configuration": False, "didChangeConfiguration": {}},
                },
                "initializationOptions": {},
            },
            timeout=timeout,
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})
        return result

    def close(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                try:
                    self.request("shutdown", None, timeout=3)
                    self.notify("exit", None)
                    proc.wait(timeout=3)
                except (LspError, OSError, subprocess.TimeoutExpired):
                    pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self._proc = None

    def __enter__(self) -> LspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ wire

    def _send(self, message: dict[str, Any]) -> None:
        if self._proc is None or self._proc.stdin is None or self._proc.poll() is not None:
            raise LspError(f"server is not running; stderr: {self._stderr()}")
        body = json.dumps(message).encode("utf-8")
        with self._lock:
            self._proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._proc.stdin.flush()

    def _read_message(self, stream) -> dict[str, Any] | None:
        length = None
        while True:
            line = stream.readline()
            if not line:
                return None
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        if length is None:
            raise LspError("message without Content-Length")
        body = stream.read(length)
        if len(body) < length:
            return None
        return json.loads(body.decode("utf-8"))

    def _read_loop(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        while True:
            try:
                msg = self._read_message(stream)
            except (ValueError, LspError, OSError):
                msg = None
            if msg is None:
                break
            if "id" in msg and "method" in msg:  # a request from the server
                self._answer_server_request(msg)
            elif "id" in msg:  # a response
                waiter = self._pending.get(msg["id"])
                if waiter is not None:
                    waiter.put(msg)
            else:  # a notification
                with self._notes_changed:
                    self._notes.append(msg)
                    self._notes_changed.notify_all()
        with self._notes_changed:  # wake waiters: the server is gone
            self._notes_changed.notify_all()
        for waiter in list(self._pending.values()):
            waiter.put({"error": {"message": "server closed its output"}})

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            self.stderr_tail.append(raw.decode("utf-8", "replace").rstrip())

    def _stderr(self) -> str:
        return "\n".join(list(self.stderr_tail)[-10:])

    def _answer_server_request(self, msg: dict[str, Any]) -> None:
        result: Any = None
        if msg["method"] == "workspace/configuration":
            items = (msg.get("params") or {}).get("items", [])
            result = [self.settings.get(item.get("section", ""), None) for item in items]
        self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})

    # ------------------------------------------------------------------ API

    def request(self, method: str, params: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        self._next_id += 1
        rid = self._next_id
        waiter: queue.Queue[dict[str, Any]] = queue.Queue()
        self._pending[rid] = waiter
        try:
            self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            try:
                reply = waiter.get(timeout=timeout)
            except queue.Empty:
                raise LspError(
                    f"no answer to {method} within {timeout:g}s; stderr: {self._stderr()}"
                ) from None
        finally:
            self._pending.pop(rid, None)
        if "error" in reply:
            raise LspError(f"{method} failed: {reply['error'].get('message')}")
        return reply.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": version, "text": text}},
        )

    def completion(self, uri: str, line: int, character: int, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        """Completion items at a 0-based position."""
        result = self.request(
            "textDocument/completion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1},
            },
            timeout=timeout,
        )
        if result is None:
            return []
        return result["items"] if isinstance(result, dict) else result

    def diagnostics(
        self, uri: str, timeout: float = DEFAULT_TIMEOUT, min_count: int = 1
    ) -> list[dict[str, Any]]:
        """The latest diagnostics published for ``uri`` once at least ``min_count`` arrived (bounded)."""
        deadline = time.monotonic() + timeout
        latest: list[dict[str, Any]] | None = None
        with self._notes_changed:
            while True:
                for note in self._notes:
                    params = note.get("params") or {}
                    if note.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri:
                        latest = params.get("diagnostics", [])
                if latest is not None and len(latest) >= min_count:
                    return latest
                left = deadline - time.monotonic()
                if left <= 0 or self._proc is None or self._proc.poll() is not None:
                    if latest is not None:
                        return latest
                    raise LspError(f"no diagnostics for {uri} within {timeout:g}s; stderr: {self._stderr()}")
                self._notes_changed.wait(timeout=left)
