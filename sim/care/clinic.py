"""Primary-care appointment capacity, granted per clinic-day.

One clinic per primary-care provider keeps a FIFO queue of appointment requests. Each
day the clinic serves as many requests as it has slots (fractional slots carry over to the
next day); a request that has waited ``patience_days`` is given up, and a share of the
given-up requests become emergency-department visits that day. This is the DES mechanism
for access: when capacity is short, waits grow and part of the unmet demand turns into
ED use. Pure NumPy, driven once a day by the DES (``sim.care.des.daily_process``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Clinic:
    """The appointment book of one primary-care provider."""

    slots_per_day: float
    patience_days: float
    unmet_to_ed_share: float
    queue_pid: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    queue_day: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))
    carry: float = 0.0

    def day(
        self,
        day: float,
        new_pids: np.ndarray,
        alive: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Run clinic day ``day``: queue new requests, serve, give up.

        Returns ``(served_pids, served_wait_days, ed_pids, n_given_up)``.
        """
        if len(new_pids):
            self.queue_pid = np.concatenate([self.queue_pid, new_pids])
            self.queue_day = np.concatenate([self.queue_day, np.full(len(new_pids), day)])
        # Requests of patients who died or left are dropped.
        if len(self.queue_pid):
            keep = alive[self.queue_pid]
            if not keep.all():
                self.queue_pid = self.queue_pid[keep]
                self.queue_day = self.queue_day[keep]
        self.carry += self.slots_per_day
        n_serve = min(int(self.carry), len(self.queue_pid))
        self.carry -= n_serve
        served = self.queue_pid[:n_serve]
        waits = day - self.queue_day[:n_serve]
        self.queue_pid = self.queue_pid[n_serve:]
        self.queue_day = self.queue_day[n_serve:]
        # Unused slots are not banked beyond one day's worth.
        self.carry = min(self.carry, max(self.slots_per_day, 1.0))
        ed = np.empty(0, np.int64)
        given_up = 0.0
        if len(self.queue_pid):
            expired = (day - self.queue_day) >= self.patience_days
            if expired.any():
                lost = self.queue_pid[expired]
                given_up = float(len(lost))
                ed = lost[rng.random(len(lost)) < self.unmet_to_ed_share]
                self.queue_pid = self.queue_pid[~expired]
                self.queue_day = self.queue_day[~expired]
        return served, waits, ed, given_up

    @property
    def backlog(self) -> int:
        """Requests waiting now."""
        return len(self.queue_pid)
