"""slmesh orchestrator: planner, gather, composer."""
