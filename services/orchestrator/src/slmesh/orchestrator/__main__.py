from slmesh.orchestrator.app import main

main()
