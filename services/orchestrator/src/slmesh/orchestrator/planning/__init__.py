"""Planning: a request becomes the micromodel calls that answer it.

`plan` holds what the orchestrator depends on (the `Planner` protocol, the
`ToolView`s it plans with and the plan it returns); `rules` and `slm` are the
two planners; `decomposition` takes a request apart; `knowledge` is what the
planner knows about each micromodel; `argument_writer` has the model write
what the rules cannot read.
"""
