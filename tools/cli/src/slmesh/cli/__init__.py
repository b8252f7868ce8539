"""The `slmesh` command, and the local mesh it runs: an app, never imported by a service.

- `main`: the parser, built from the commands, and the command named run.
- `commands`: a module or a package per command.
- `devstack`: the whole mesh on one machine (broker, Redis, every service).
- `exits`, `defaults`, `readers`, `records`, `text`: what several commands share.
"""
