"""Calibration: fit named scenario parameters to target moments under common random numbers.

``vbcsim calibrate CALIBRATION.yaml`` and :func:`calibrate` (``sim.calibrate``) read a
calibration file (:mod:`sim.calibration.spec`), evaluate the targets at parameter vectors
(:mod:`sim.calibration.evaluate`), minimise the objective with a bounded method and a
stopping rule, caching every evaluation for ``--resume`` (:mod:`sim.calibration.fit`), and
write the fitted values, a fit table and a plot (:mod:`sim.calibration.outputs`).
See docs/calibration.md.
"""

from sim.calibration.evaluate import Evaluation, evaluate
from sim.calibration.fit import (
    CalibrationError,
    CalibrationResult,
    calibrate,
)
from sim.calibration.outputs import fit_table
from sim.calibration.spec import Calibration, calibration_from_dict, load_calibration

__all__ = [
    "Calibration",
    "CalibrationError",
    "CalibrationResult",
    "Evaluation",
    "calibrate",
    "calibration_from_dict",
    "evaluate",
    "fit_table",
    "load_calibration",
]
