"""`python -m slmesh.cli`: the `slmesh` command, where its script is not on PATH (an image)."""

from slmesh.cli.main import main

main()
