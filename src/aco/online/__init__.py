"""The online Context -> Action -> Feedback loop: memory, orchestrator, bandits and verifiers."""
