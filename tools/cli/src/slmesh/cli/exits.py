"""The exit codes of `slmesh` beyond 0, one table for every command (their help texts name
them), and what a command says when the mesh is not there."""

# `slmesh ask`: 1 is answered with status failed; beyond it:
NO_RESPONSE = 2
NO_ORCHESTRATOR = 3
NO_BROKER = 4
# `slmesh dev` without the binaries of its extra.
DEV_EXTRA_MISSING = 5
# `slmesh trace`, `tail`, `replay`: no record of that request, or no such topic.
NOT_FOUND = 6
# Any reader command: the broker refuses this client's TLS (untrusted certificate, client
# certificate refused); waiting will not help.
TLS_REFUSED = 7

START_HINT = "Is the mesh running? `slmesh dev` starts one, and says there when a service dies."
