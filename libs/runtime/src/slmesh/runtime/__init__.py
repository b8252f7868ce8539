"""slmesh-runtime: what every slmesh service imports, and never runs on its own.

Packages by concern:

- `kafka`: broker profiles, clients, topics, subscribing with in-order
  commits, fetch pacing, publishing, dead letters, consumer group names.
- `service`: logging and the ready line, dependency waits and watch, the one
  start/stop skeleton.
- `registry`: a replica's announcements, the orchestrator's live catalogue.
- `micromodel`: the SDK (declare, run tasks, keep replies, serve).
- `llm`: local models; only `llm.model` loads numpy and llama_cpp.
- `pii`: personal data in a text, found and redacted (pure functions, stdlib `re`).

Modules: `settings`; `client` (a requester's MeshClient); `failures` (the one
TaskFailed builder); `lifecycle`, `backoff`, `concurrency` (the worker thread).
"""
