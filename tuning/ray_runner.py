"""RayRunner (TUNING.md section 9, extra `terrace[ray]`): measurement on a Ray cluster.

One measuring actor per node, placed by a STRICT_SPREAD placement group of one-CPU bundles (Ray
does not pin: each actor pins itself with `os.sched_setaffinity` and reports its cores), each
checking that its machine has the tuning target's fingerprint. An actor builds, validates and
times a candidate exactly as LocalRunner's child does (`measure_candidate`, or the `measure`
given), so a segfault kills only the actor's process. The tuner process stays the database's
only writer: actors return results, never write records.

`serialize=True` measures one candidate at a time cluster-wide (candidates go round-robin over
the actors): the mode the equality test and shared machines use. Otherwise every actor
measures at once (their timings are then contended on a small machine).

Failures: an actor that dies (RayActorError) or times out has its candidate requeued once on
another actor, then recorded as `crash` / `timeout`; a dead actor is restarted by Ray
(`max_restarts`), and marked suspect until then.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TerraceError
from .config import KernelConfig
from .kernels import Kernel
from .measure import (
    REPEAT_S,
    REPEATS,
    Candidate,
    ConfirmRequest,
    MeasureRequest,
    confirm_candidates,
    confirm_request,
    measure_candidate,
    measure_request,
)
from .records import Result
from .tasks import Task

CONNECT_TIMEOUT_S = 30.0
INSTALL_HINT = "pip install 'terrace[ray]'"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise TerraceError(f"--runner ray needs Ray: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None) -> Any:
    """Ray, initialized: a new local cluster for None, else the cluster at `address` (an
    error naming it when it does not answer within CONNECT_TIMEOUT_S)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address is None:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        return ray
    os.environ.setdefault("RAY_gcs_rpc_server_connect_timeout_s", str(int(CONNECT_TIMEOUT_S)))
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except Exception as error:  # ConnectionError, TimeoutError, RuntimeError: all say the same
        raise TerraceError(f"cannot reach the Ray cluster at '{address}': {error}") from None
    return ray


class MeasureActor:
    """Pins itself to one core of its node, then measures requests (one at a time)."""

    def __init__(self, slot: int, fingerprint: str, target: str, threads: int) -> None:
        from ..targets import get_target
        from .apply import target_fingerprint

        cores = sorted(os.sched_getaffinity(0))
        self.cores = [cores[(slot * threads + i) % len(cores)] for i in range(threads)]
        os.sched_setaffinity(0, set(self.cores))
        mine = target_fingerprint(get_target(target), threads)
        self.matches = mine == fingerprint
        self.node = os.uname().nodename

    def describe(self) -> tuple[str, list[int], bool]:
        return self.node, self.cores, self.matches

    def measure(self, request: MeasureRequest, measure: Callable[..., Result]) -> Result:
        return measure(request)

    def confirm(self, request: ConfirmRequest) -> list[Result]:
        return confirm_candidates(request)


@dataclass
class RayRunner:
    model: bytes
    target: str
    threads: int
    inputs: Sequence[np.ndarray]
    reference: Sequence[np.ndarray]
    fingerprint: str
    address: str | None = None
    actors: int = 0
    """How many measuring actors (0: one per node with a CPU)."""
    serialize: bool = True
    allow_heterogeneous: bool = False
    measure: Callable[..., Result] = measure_candidate
    timeout_s: float = 120.0
    repeats: int = REPEATS
    repeat_s: float = REPEAT_S
    handles: list[Any] = field(default_factory=list[Any])
    requeued: int = 0
    kernels: Mapping[str, Kernel] = field(default_factory=dict[str, Kernel])
    """The tasks measured alone (tuning/kernels.py), by key."""

    def __post_init__(self) -> None:
        ray = connect(self.address)
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        count = self.actors or sum(
            1 for node in ray.nodes() if node["Alive"] and node["Resources"].get("CPU", 0) >= 1
        )
        if count < 1:
            raise TerraceError("the Ray cluster has no node with a free CPU to measure on")
        bundles = [{"CPU": 1.0} for _ in range(count)]
        self.group = placement_group(bundles, strategy="STRICT_SPREAD")
        if not self.group.wait(CONNECT_TIMEOUT_S):
            raise TerraceError(
                f"Ray could not place {count} measuring actors on distinct nodes (STRICT_SPREAD)"
            )
        remote = ray.remote(num_cpus=1, max_restarts=3, max_task_retries=0)(MeasureActor)
        for slot in range(count):
            strategy = PlacementGroupSchedulingStrategy(
                self.group, placement_group_bundle_index=slot
            )
            self.handles.append(
                remote.options(scheduling_strategy=strategy).remote(
                    slot, self.fingerprint, self.target, self.threads
                )
            )
        described = ray.get([h.describe.remote() for h in self.handles], timeout=CONNECT_TIMEOUT_S)
        strangers = [node for node, _, matches in described if not matches]
        if strangers and not self.allow_heterogeneous:
            raise TerraceError(
                f"Ray nodes {', '.join(strangers)} are another machine than the tuning target "
                "(different fingerprint); pass --allow-heterogeneous to measure there anyway"
            )
        self._ray = ray
        self._next = 0

    def _request(self, candidate: Candidate) -> MeasureRequest:
        return measure_request(self, candidate)

    def _actor(self) -> Any:
        actor = self.handles[self._next % len(self.handles)]
        self._next += 1
        return actor

    def run(self, batch: Sequence[Candidate]) -> list[Result]:
        if self.serialize:
            return [self._one(candidate) for candidate in batch]
        refs = [(c, self._actor().measure.remote(self._request(c), self.measure)) for c in batch]
        return [self._collect(c, ref) for c, ref in refs]

    def _one(self, candidate: Candidate) -> Result:
        ref = self._actor().measure.remote(self._request(candidate), self.measure)
        return self._collect(candidate, ref)

    def _collect(self, candidate: Candidate, ref: Any, retried: bool = False) -> Result:
        from ray.exceptions import GetTimeoutError, RayActorError

        try:
            return self._ray.get(ref, timeout=self.timeout_s)
        except (RayActorError, GetTimeoutError) as error:
            kind = "timeout" if isinstance(error, GetTimeoutError) else "crash"
            if retried:
                return Result(None, error=kind, detail=f"twice: {type(error).__name__}")
            self.requeued += 1
            again = self._actor().measure.remote(self._request(candidate), self.measure)
            return self._collect(candidate, again, retried=True)

    def confirm(self, task: Task, configs: Sequence[KernelConfig], repeats: int) -> list[Result]:
        """The finalists re-measured interleaved on one actor (one process, one node, as
        LocalRunner's child does); an actor that dies or hangs fails them all."""
        from ray.exceptions import GetTimeoutError, RayActorError

        ref = self._actor().confirm.remote(confirm_request(self, task.key, configs, repeats))
        try:
            return list(self._ray.get(ref, timeout=self.timeout_s * (1 + len(configs))))
        except (RayActorError, GetTimeoutError) as error:
            kind = "timeout" if isinstance(error, GetTimeoutError) else "crash"
            return [Result(None, error=kind, detail=type(error).__name__)] * len(configs)

    def kill_actor(self, index: int) -> None:
        """Kills one actor's process (Ray restarts it): the fault-tolerance test's hook."""
        self._ray.kill(self.handles[index], no_restart=False)

    def close(self) -> None:
        from ray.util.placement_group import remove_placement_group

        for handle in self.handles:
            self._ray.kill(handle)
        remove_placement_group(self.group)
