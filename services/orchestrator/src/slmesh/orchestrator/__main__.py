from slmesh.orchestrator.service import main

main()
