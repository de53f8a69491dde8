"""Hospital beds: first come, first served, the same waits as a ``simpy.Resource``."""

from __future__ import annotations

import numpy as np
import simpy

from sim.care.des import Beds


def _waits(arrivals: np.ndarray, stays: np.ndarray, capacity: int, use_simpy: bool) -> list:
    env = simpy.Environment()
    beds = simpy.Resource(env, capacity) if use_simpy else Beds(env, capacity)
    waits: list[tuple[int, float]] = []

    def patient(i: int):
        yield env.timeout(arrivals[i])
        t0 = env.now
        if use_simpy:
            req = beds.request()
            yield req
        else:
            req = beds.request()
            if req is not None:
                yield req
        waits.append((i, env.now - t0))
        yield env.timeout(stays[i])
        if use_simpy:
            beds.release(req)
        else:
            beds.release()

    for i in range(len(arrivals)):
        env.process(patient(i))
    env.run()
    return sorted(waits)


def test_beds_give_the_waits_of_a_simpy_resource():
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(1.0, 400))
    stays = rng.gamma(2.0, 2.5, 400)  # ~5 patients in hospital on average
    for capacity in (1, 3, 5, 50):
        ours = _waits(arrivals, stays, capacity, use_simpy=False)
        ref = _waits(arrivals, stays, capacity, use_simpy=True)
        assert ours == ref
        if capacity <= 3:  # the queue binds: somebody waited
            assert max(w for _, w in ours) > 1.0
        if capacity == 50:
            assert max(w for _, w in ours) == 0.0


def test_a_free_bed_is_taken_without_an_event_and_passed_on_in_order():
    env = simpy.Environment()
    beds = Beds(env, 1)
    assert beds.request() is None and beds.in_use == 1
    first, second = beds.request(), beds.request()
    assert first is not None and second is not None and len(beds.queue) == 2
    beds.release()  # the bed passes to the first request; still one in use
    assert first.triggered and not second.triggered and beds.in_use == 1
    beds.release()
    assert second.triggered
    beds.release()
    assert beds.in_use == 0 and not beds.queue
