"""What the tests share: imported by test modules of every folder, never collected as tests.

- `kit`: the mesh kit — taps on topics, a raw producer, request and task builders,
  the ghost micromodel's helpers, dead-letter checks, the CLI run as a process.
- `mesh`: a dev stack of a test's own (`logged_mesh`) and the wait until every
  orchestrator replica answers.
- `echo_service`, `slow_service`: micromodels only the tests start, each run as
  `python <path>` (`kit.ECHO_SERVICE`, `kit.SLOW_SERVICE`).
- `otlp_receiver`: an OTLP/HTTP trace receiver; what the services export, decoded.
- `tls_proxy`: a TLS-terminating proxy in front of the embedded broker (which has no TLS).
- `binary_mode`: an event as a CloudEvents binary-mode record (`ce_*` headers, data value).
- `fake_store`: the orchestrator's gather store in memory, for in-process tests.
- `proofs`: records proven as any identity of the suite's keyring (a task as the
  orchestrator proves it, a reply as a micromodel does, or a forgery); registry cards.

Fixtures stay in the conftest of the folder whose tests use them; a test module
imports helpers from here, never from another folder's conftest.
"""
