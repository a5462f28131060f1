"""Agent trajectories (first K turns) as typed records, turn-K features, step kinds and stated prices."""
