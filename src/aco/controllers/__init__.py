"""Multi-step controllers (cascade, escalate, verify, stop) and their exact replay on recorded outcomes."""
