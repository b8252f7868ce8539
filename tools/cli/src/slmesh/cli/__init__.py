"""The `slmesh` command, and the local mesh it runs: an app, never imported by a service."""
