"""The planning cycle: collect, forecast, plan, act; and the what-if replay."""
