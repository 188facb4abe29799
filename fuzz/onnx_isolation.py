"""Campaigns over mutated ONNX models with every check in a child process (`IsolatedCheck`).

A mutant may crash native code (protobuf's parser, numpy, LLVM) or loop where no SIGALRM can
interrupt it. In the process that drives the campaign, either would end the run; in a child it
is one finding: a child that dies is a `crash` (its signal named), one that does not answer in
time is a `hang` (it is killed), and a fresh child takes the next mutant. The child also gets
an address-space limit, so a mutant that makes Terrace allocate a giant array shows up as a
MemoryError (a finding: such shapes must be refused with a clear error) instead of swapping
a shared machine to a halt.

The child rebuilds each mutant from its base name and steps (`build_mutant`), so nothing large
crosses the pipe and every finding is reproducible in one call.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe
from multiprocessing.process import BaseProcess
from typing import cast

from ..errors import TerraceError, first_line
from .onnx_checks import CHECKS, Campaign, Outcome
from .onnx_mutations import Mutant, base_model_names, build_mutant, mutated_models

STARTUP_SECONDS = 120.0
"""How long a fresh child may take to import Terrace and its libraries."""

GRACE_SECONDS = 10.0
"""Past the check's own deadline (SIGALRM in the child): the time a child gets to answer."""

DEFAULT_MEMORY_BYTES = 4 << 30
"""The child's address-space limit: a light model's import uses well under 2 GiB."""

READY = "ready"

Check = Callable[[Mutant, float], Outcome]


def resolve_check(name: str) -> Check:
    """A check of `CHECKS` by name, or any function `module:function` with its signature (a
    check of one's own, as `--load-pass-plugin` gives a pass of one's own)."""
    if name in CHECKS:
        return CHECKS[name]
    module_name, _, function = name.partition(":")
    if not module_name or not function:
        raise TerraceError(f"unknown check '{name}'; checks: {', '.join(CHECKS)}, module:function")
    try:
        found: object = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as error:
        raise TerraceError(f"check '{name}': {first_line(error)}") from None
    if not callable(found):
        raise TerraceError(f"check '{name}' is not a function")
    return cast(Check, found)


def _serve(connection: Connection, check: str, seconds: float, memory_bytes: int) -> None:
    """The child's loop: (base, steps) in, (kind, detail) out, until None or EOF."""
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    run = resolve_check(check)
    connection.send(READY)
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        base, steps = request
        outcome = run(build_mutant(base, [tuple(step) for step in steps]), seconds)
        connection.send((outcome.kind, outcome.detail))


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


class IsolatedCheck:
    """`check(mutant)` runs the named check (`resolve_check`: import, cli, compile, or
    module:function) in a long-lived child process, restarted after a crash or a hang.
    `close()` ends the child."""

    def __init__(
        self,
        check: str = "import",
        seconds: float = 20.0,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        resolve_check(check)  # an unknown check is an error here, not in the child
        self.check = check
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self.grace_seconds = grace_seconds
        self.restarts = 0
        self._context = multiprocessing.get_context("spawn")
        self._child: tuple[BaseProcess, Connection] | None = None

    def __call__(self, mutant: Mutant) -> Outcome:
        process, connection = self._started()
        connection.send((mutant.base, list(mutant.steps)))
        waited = self.seconds + self.grace_seconds
        if not connection.poll(waited):
            self._stop(kill=True)
            return Outcome("hang", f"no answer after {waited:g} s")
        try:
            kind, detail = connection.recv()
        except EOFError:
            process.join(5)
            code = process.exitcode
            self._stop(kill=True)
            return Outcome("crash", f"the checking process died ({_describe_exit(code)})")
        return Outcome(str(kind), str(detail))

    def close(self) -> None:
        self._stop(kill=False)

    def __enter__(self) -> IsolatedCheck:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _started(self) -> tuple[BaseProcess, Connection]:
        if self._child is not None:
            return self._child
        parent, child = Pipe()
        process = self._context.Process(
            target=_serve,
            args=(child, self.check, self.seconds, self.memory_bytes),
            daemon=True,
        )
        process.start()
        child.close()
        if not parent.poll(STARTUP_SECONDS) or parent.recv() != READY:
            process.kill()
            process.join()
            why = _describe_exit(process.exitcode)
            raise TerraceError(f"the checking process did not start ({why})")
        # typeshed types the pipe's ends for every platform (PipeConnection on Windows)
        self._child = (process, cast(Connection, parent))
        return process, cast(Connection, parent)

    def _stop(self, kill: bool) -> None:
        if self._child is None:
            return
        process, connection = self._child
        self._child = None
        if kill:
            process.kill()
            self.restarts += 1
        else:
            with contextlib.suppress(OSError):  # the child is gone already
                connection.send(None)
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
        connection.close()


BASE_SETS: dict[str, Callable[[], list[str]]] = {
    "light": lambda: [n for n in base_model_names() if n.startswith("light_")],
    "small": lambda: [n for n in base_model_names() if n.startswith("test_")],
}
"""Named sets of base models; `all` (every base, the heavy light models drawn rarely) is the
default."""


def resolve_bases(spec: str) -> list[str] | None:
    """The base models `spec` names: `all` (None: the default draw), `light`, `small`, or
    names separated by commas."""
    if spec == "all":
        return None
    if spec in BASE_SETS:
        return BASE_SETS[spec]()
    names = [name.strip() for name in spec.split(",") if name.strip()]
    known = base_model_names()
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise TerraceError(
            f"unknown base model '{unknown[0] if unknown else spec}'; use all, "
            f"{', '.join(BASE_SETS)} or names of the {len(known)} base models "
            f"({', '.join(known[:3])}, ...: terrace.fuzz.onnx_mutations.base_model_names())"
        )
    return names


def isolated_campaign(
    seed: int,
    count: int,
    bases: Sequence[str] | None,
    check: IsolatedCheck,
    progress: Callable[[int, Campaign], None] | None = None,
) -> Campaign:
    """`count` mutants (seed `seed`) of `bases`, each checked by `check` in its child."""
    started = time.perf_counter()
    campaign = Campaign({}, [], 0.0)
    for index, mutant in enumerate(mutated_models(seed, count, bases), 1):
        campaign.record(mutant, check(mutant))
        campaign.seconds = time.perf_counter() - started
        if progress is not None:
            progress(index, campaign)
    return campaign
