"""The fast executor's Python walks as numba kernels, for ``benchmarks/numba_walks.py``
(which measured that numba does not earn its place in ``sim``): the bed walk
(``sim.care.fast.FastState._grant_beds`` with ``_fifo_grant``), the waiting-stay queue
(``_Waiting.add``) and the clinic walk (``FastState._run_clinic``'s day loop) over arrays,
with the same comparisons and the same float operations in the same order as the Python
walks, so every double is the same (the script checks it). Needs ``pip install numba``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _insort(buf: np.ndarray, n: int, x: float) -> None:
    """Insert ``x`` into the sorted ``buf[:n]`` after its equals (bisect.insort)."""
    i = np.searchsorted(buf[:n], x, side="right")
    buf[i + 1:n + 1] = buf[i:n].copy()
    buf[i] = x


@njit(cache=True, nogil=True)
def merge_stays(q, arrival, los, pid, kind):
    """The waiting stays ``q`` (rows arrival, length of stay, patient, kind; in arrival
    order) with the new stays merged in after the waiting ones of equal day, the new ones
    in a stable order by arrival (as ``sim.care.fast._Waiting.add``)."""
    m, k = q.shape[1], len(arrival)
    order = np.argsort(arrival, kind="mergesort")
    out = np.empty((4, m + k))
    i = 0
    w = 0
    for jj in range(k):
        j = order[jj]
        a = arrival[j]
        while i < m and not (a < q[0, i]):  # the old stays of days up to a go first
            out[:, w] = q[:, i]
            i += 1
            w += 1
        out[0, w], out[1, w], out[2, w], out[3, w] = a, los[j], pid[j], kind[j]
        w += 1
    while i < m:
        out[:, w] = q[:, i]
        i += 1
        w += 1
    return out


@njit(cache=True, nogil=True)
def grant_beds(q, clocks, starts, ends, live, cap):
    """The walk of ``FastState._grant_beds`` over the waiting stays ``q`` (rows arrival,
    length of stay, patient, kind; in arrival order), the free patients' ``clocks``, the
    bed book: ``starts``, ``ends`` (sorted) and the live stays (rows arrival, grant,
    release). Returns (the granted stays as rows patient, arrival, release, wait, kind;
    the stays left waiting, in order; the new starts, ends, live; stays that waited);
    nothing granted: an empty first array and the rest unchanged."""
    m = q.shape[1]
    arr = q[0]
    first = arr[0]
    clocks_sorted = np.sort(clocks)
    clock_min = clocks_sorted[0] if len(clocks) else np.inf
    ns, nl = len(starts), live.shape[1]
    st = np.empty(ns + m)
    st[:ns] = starts
    en = np.empty(ns + m)
    en[:ns] = ends
    ne = ns
    lv = np.empty((3, nl + m))
    lv[:, :nl] = live
    back = np.empty(m)
    nb = 0
    kept = np.empty(m, np.int64)
    nk = 0
    gi = np.empty(m, np.int64)
    gg = np.empty(m)
    gr = np.empty(m)
    ng = 0
    rel = np.empty(nl + m)
    waiting = 0
    waited = 0
    walked = m
    for j in range(m):
        a = arr[j]
        before = np.searchsorted(clocks_sorted, a, side="left")
        possible = before + np.searchsorted(back[:nb], a, side="left") + waiting
        if possible >= cap:
            walked = j
            break
        in_use = (np.searchsorted(st[:ns], a, side="right")
                  - np.searchsorted(en[:ne], a, side="right"))
        if in_use + possible < cap:
            g = a
        elif possible == 0:
            # _fifo_grant: the live stays released after a (in order), the earlier
            # arrivals among them
            t0 = a
            w = 0
            n_early = 0
            for i in range(nl):
                if lv[2, i] > a:
                    lv[0, w], lv[1, w], lv[2, w] = lv[0, i], lv[1, i], lv[2, i]
                    w += 1
                    if lv[0, i] < a:
                        if lv[1, i] > t0:
                            t0 = lv[1, i]
                        rel[n_early] = lv[2, i]
                        n_early += 1
            nl = w
            g = t0
            if n_early >= cap:
                r_cap = np.sort(rel[:n_early])[n_early - cap]  # the cap-th latest release
                if r_cap > t0:
                    g = r_cap
            if g > a:
                waited += 1
        else:
            waiting += 1
            kept[nk] = j
            nk += 1
            continue
        r = g + q[1, j]
        _insort(st, ns, g)
        ns += 1
        _insort(en, ne, r)
        ne += 1
        lv[0, nl], lv[1, nl], lv[2, nl] = a, g, r
        nl += 1
        _insort(back, nb, r)
        nb += 1
        gi[ng], gg[ng], gr[ng] = j, g, r
        ng += 1
    if ng == 0:
        return np.empty((5, 0)), q, starts, ends, live, 0
    waiting += m - walked
    floor = clock_min
    if back[0] < floor:
        floor = back[0]
    if waiting and first < floor:
        floor = first
    k = np.searchsorted(en[:ne], floor, side="right")
    granted = np.empty((5, ng))
    for i in range(ng):
        j = gi[i]
        granted[0, i], granted[1, i], granted[2, i] = q[2, j], arr[j], gr[i]
        granted[3, i], granted[4, i] = gg[i] - arr[j], q[3, j]
    rest = np.empty((4, nk + m - walked))
    for i in range(nk):
        rest[:, i] = q[:, kept[i]]
    rest[:, nk:] = q[:, walked:]
    n_live = 0
    for i in range(nl):
        if lv[2, i] > floor:
            n_live += 1
    out_live = np.empty((3, n_live))
    w = 0
    for i in range(nl):
        if lv[2, i] > floor:
            out_live[:, w] = lv[:, i]
            w += 1
    return granted, rest, st[k:ns].copy(), en[k:ne].copy(), out_live, waited


@njit(cache=True, nogil=True)
def clinic_walk(per_day, q_day, exit_a, cand_exit, cand_pos, first, n_old, spd,
                cap_carry, patience, carry):
    """The day loop of ``FastState._run_clinic``. Returns (served runs (from, to,
    day) as rows, skipped positions, given-up positions and days, number given up,
    days binding, carry, head, tail)."""
    days = len(per_day)
    n_req = len(q_day)
    n_cand = len(cand_pos)
    served = np.empty((days, 3), np.int64)
    ns = 0
    skipped = np.empty(n_req, np.int64)
    nsk = 0
    lost_all = np.empty(n_req, np.int64)
    lost_day = np.empty(n_req, np.int64)
    nlost = 0
    dead = np.empty(n_cand, np.int64)
    nd = 0
    next_cand = 0
    given_up = 0.0
    binding = 0
    head, tail = 0, n_old
    for j in range(days):
        d = first + j
        if head == tail:  # the queue is empty: every request of the day is served
            after = carry + spd
            c = per_day[j]
            if c <= int(after):
                if c:
                    served[ns, 0], served[ns, 1], served[ns, 2] = tail, tail + c, d
                    ns += 1
                tail += c
                head = tail
                carry = after - c
                if cap_carry < carry:
                    carry = cap_carry
                continue
        binding += 1
        tail += per_day[j]
        tick = d + 1.0
        carry += spd
        k = int(carry)
        n = 0
        start = head
        while next_cand < n_cand and cand_exit[next_cand] <= tick:
            x = cand_pos[next_cand]
            i = np.searchsorted(dead[:nd], x, side="right")
            dead[i + 1:nd + 1] = dead[i:nd].copy()
            dead[i] = x
            nd += 1
            next_cand += 1
        di = np.searchsorted(dead[:nd], head, side="left")
        while n < k and head < tail:
            nxt = dead[di] if di < nd else tail
            if nxt >= tail:
                take = min(k - n, tail - head)
                n += take
                head += take
                break
            take = min(k - n, nxt - head)
            n += take
            head += take
            if n == k:
                break
            skipped[nsk] = head
            nsk += 1
            head += 1
            di += 1
        if head > start:
            served[ns, 0], served[ns, 1], served[ns, 2] = start, head, d
            ns += 1
        carry -= n
        if cap_carry < carry:
            carry = cap_carry
        while head < tail and d - q_day[head] >= patience:
            if exit_a[head] > tick:
                lost_all[nlost] = head
                lost_day[nlost] = d
                nlost += 1
                given_up += 1.0
            head += 1
    return (served[:ns], skipped[:nsk], lost_all[:nlost], lost_day[:nlost], given_up,
            binding, carry, head, tail)

