"""Primary-care capacity: FIFO service per clinic-day, waits, give-ups turning into ED visits."""

import numpy as np

from sim.care.clinic import Clinic


def run(clinic, days, demand_per_day, seed=0):
    rng = np.random.default_rng(seed)
    alive = np.ones(10_000, bool)
    log = []
    for day in range(days):
        new = rng.integers(0, 10_000, rng.poisson(demand_per_day))
        served, waits, ed, lost = clinic.day(float(day), new, alive, rng)
        log.append((day, len(served), waits.mean() if len(waits) else 0.0, len(ed), lost))
    return log


def test_enough_capacity_serves_everyone_the_same_day():
    log = run(Clinic(60.0, 14, 0.25), 200, 40)
    assert sum(x[4] for x in log) == 0
    assert max(x[2] for x in log) == 0.0


def test_short_capacity_grows_waits_and_sends_given_up_requests_to_the_ed():
    log = run(Clinic(30.0, 14, 0.25), 200, 40)
    served = sum(x[1] for x in log[50:])
    assert abs(served / 150 - 30) < 1  # serves exactly its capacity
    assert np.mean([x[2] for x in log[50:]]) > 10  # waits approach the patience limit
    lost = sum(x[4] for x in log[50:])
    ed = sum(x[3] for x in log[50:])
    assert lost > 0.2 * 40 * 150  # ~10 of 40 daily requests are given up
    assert abs(ed / lost - 0.25) < 0.03


def test_fifo_order_and_dead_patients_dropped():
    c = Clinic(1.0, 100, 0.0)
    alive = np.ones(5, bool)
    rng = np.random.default_rng(0)
    c.day(0.0, np.array([3, 1, 4]), alive, rng)  # serves 3
    alive[1] = False
    served, waits, _, _ = c.day(1.0, np.array([2]), alive, rng)
    assert served.tolist() == [4] and waits.tolist() == [1.0]
    assert c.backlog == 1
