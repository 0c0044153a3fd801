"""Forecasting: point forecasts with calibrated intervals, for all series.

:mod:`.base` defines the :class:`~.base.Forecast` result and the
:class:`~.base.Forecaster` plugin base (namespace ``irra.forecasters``);
:mod:`.conformal` calibrates the intervals from back-test residuals;
:mod:`.baselines` has the naive and seasonal naive forecasters and
:mod:`.evaluate` the rolling-origin back-test that scores them.
"""
