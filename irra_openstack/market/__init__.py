"""The inter-region resource marketplace and the cost models.

Regions offer spare capacity at their marginal cost and bid for their
predicted shortfall at its SLA penalty; the market clears at the region
LP's dual prices, and every trade is recorded in the ledger.
"""
