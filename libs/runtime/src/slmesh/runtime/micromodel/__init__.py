"""The micromodel SDK: declare input, output, a description and a handler; the SDK does the rest.

It consumes the micromodel's task topic, validates each task, runs the handler
in a worker thread, validates the output, replies with TaskCompleted or
TaskFailed, and only then commits the task's offset (at-least-once). Records
that are not valid tasks go to the dead-letter topic with the reason, and the
consumer moves on to the next record.

    from slmesh.runtime.micromodel import Micromodel, serve

    serve(Micromodel(name=..., description=..., input_model=..., output_model=..., handler=...))

`declare` holds the declaration, `runner` turns a task record into one reply
or one dead letter, `replies` keeps a model's replies so a redelivered task
never runs its model again, `settings` says how the service runs it (a local
or a remote model, under which name), `card` what its registry card says,
`app` makes the FastStream app and the entry point.
"""

from slmesh.runtime.micromodel.app import as_named, build_runner, create_app, serve
from slmesh.runtime.micromodel.declare import Micromodel
from slmesh.runtime.micromodel.runner import TaskRejected, TaskRunner
from slmesh.runtime.micromodel.settings import MicromodelSettings

__all__ = [
    "Micromodel",
    "MicromodelSettings",
    "TaskRejected",
    "TaskRunner",
    "as_named",
    "build_runner",
    "create_app",
    "serve",
]
