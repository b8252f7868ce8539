"""The composition root: every part of the orchestrator built and wired here, and nowhere else.

`create_app` gives the FastStream app `python -m slmesh.orchestrator` runs;
`assemble` gives its parts too (the in-process tests drive them). A broker
and a store may be handed in: FastStream's in-memory broker, a fake store.
The planner sees the registry's catalogue through `tool_views` only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from faststream import FastStream
from faststream.kafka import KafkaBroker

from slmesh.orchestrator.broker_loss import BrokerLoss
from slmesh.orchestrator.callers import Callers
from slmesh.orchestrator.completion import Completion
from slmesh.orchestrator.composer import Composer, ModelComposer
from slmesh.orchestrator.dispatch import Dispatcher, Outstanding
from slmesh.orchestrator.gather.store import GatherStorage, GatherStore
from slmesh.orchestrator.gather.writes import StateWritesInFlight
from slmesh.orchestrator.intake import Intake
from slmesh.orchestrator.lookback import published_since
from slmesh.orchestrator.opening_sentence import OpeningSentences
from slmesh.orchestrator.pipelines import load_pipelines, pipeline_card, pipeline_view
from slmesh.orchestrator.planning.plan import Planner, ToolView
from slmesh.orchestrator.planning.remote import RemotePlanner, RemotePlanning
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.orchestrator.planning.slm import SlmPlanner
from slmesh.orchestrator.responder import ReplyTopics, Responder
from slmesh.orchestrator.service import Orchestrator
from slmesh.orchestrator.settings import SERVICE, OrchestratorSettings
from slmesh.orchestrator.sweeper import Sweeper
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.kafka import (
    TopicDirectory,
    create_broker,
    fetch_pace,
    mesh_topics,
    subscribe,
)
from slmesh.runtime.kafka.consumption import ConcurrentConsumption
from slmesh.runtime.kafka.groups import ORCHESTRATOR_REPLIES_GROUP, ORCHESTRATOR_REQUESTS_GROUP
from slmesh.runtime.pii import redact_arguments, scan_arguments
from slmesh.runtime.registry import Announcer, Catalogue
from slmesh.runtime.service import (
    ServiceSkeleton,
    configure_logging,
    load_model_or_exit,
    load_settings_or_exit,
    party_or_exit,
    remote_model_or_exit,
    run,
)
from slmesh.runtime.service.metrics import count_in_flight
from slmesh.runtime.tracing import configure_tracing, envelope_traceparent
from slmesh.runtime.trust import MeshParty, mesh_party
from slmesh.schemas import Pipeline

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannerSetup:
    """The planner and composer the settings ask for, and the model thread they share (if any):
    the service stops that thread when it stops."""

    planner: Planner
    composer: Composer | None = None
    model_worker: Worker | None = None
    # The remote planner, for the requests it may read (`planner` plans the others).
    remote_planner: RemotePlanning | None = None


def tool_views(
    catalogue: Catalogue,
    callers: Callers,
    pipelines: Mapping[str, Pipeline],
    caller: str,
) -> dict[str, ToolView]:
    """The live micromodels `caller` may call (the trust file's may_call), as the planner
    sees them, read from the catalogue now: a plan never routes a caller to one it may not
    call. Alternatives are among them (a caller may name one); planners plan for the tools
    they serve (planning.plan.for_planning). The pipelines whose every step `caller` may
    call are tools too, unless a live micromodel has the name."""
    everything = callers.may_call_any(caller)
    tools = {
        # The schema is shared, not copied: the catalogue replaces a tool's schema, never edits it.
        name: ToolView(
            name, tool.description, tool.input_schema, tool.runs_model, tool.routing, tool.serves
        )
        for name, tool in catalogue.live().items()
        if everything or callers.may_call(caller, name)
    }
    for name, pipeline in pipelines.items():
        if name in tools:
            continue
        if everything or all(callers.may_call(caller, s.micromodel) for s in pipeline.steps):
            tools[name] = pipeline_view(pipeline)
    return tools


@dataclass(frozen=True)
class Assembly:
    """The orchestrator's parts, wired: the app, and what the tests drive or look into."""

    app: FastStream
    orchestrator: Orchestrator
    broker: KafkaBroker
    store: GatherStorage
    catalogue: Catalogue
    requests: ConcurrentConsumption
    replies: ConcurrentConsumption


def assemble(
    settings: OrchestratorSettings | None = None,
    planner: Planner | None = None,
    composer: Composer | None = None,
    *,
    broker: KafkaBroker | None = None,
    store: GatherStorage | None = None,
    model_worker: Worker | None = None,
    party: MeshParty | None = None,
    remote_planner: RemotePlanning | None = None,
) -> Assembly:
    """Every part built from the settings, unless handed in; defaults: rules planner,
    template composer, a Kafka broker, the Redis gather store. `model_worker`: the
    planner's model thread (the composer shares it), if it has one. `party`: who this
    orchestrator is in the trust file (from the settings when not given)."""
    settings = settings or OrchestratorSettings()
    party = party or mesh_party(settings, SERVICE)
    if broker is None:
        broker = create_broker(settings, client_id="slmesh-orchestrator")
    if store is None:
        store = GatherStore.connect(
            settings,
            ttl_s=settings.gather_ttl_s,
            lease_ms=settings.completing_lease_ms,
        )
    # Read as this orchestrator: only cards its trust file's micromodels proved are believed.
    catalogue = Catalogue(settings, party, static=settings.micromodels)
    callers = Callers(settings, party.policy)
    # Loaded once, before anything is consumed: a file that does not load stops the start.
    pipelines = load_pipelines(settings.pipelines_dir) if settings.pipelines_dir else {}
    tools = functools.partial(tool_views, catalogue, callers, pipelines)
    # Each pipeline is announced like a micromodel: discoverable from the registry alone.
    announcers = [
        Announcer(broker, settings, party, pipeline_card(p), pipeline=True)
        for p in pipelines.values()
    ]
    planner = planner or RulesPlanner()
    source = settings.source(SERVICE)
    # Each caller's response topic is made (dev) or waited for (production) at start, with
    # the mesh's other topics, before any request is taken: known from the first one.
    caller_topics = [callers.topic(caller) for caller in party.policy.callers()]
    directory = TopicDirectory(settings, known=caller_topics)
    topics = ReplyTopics(settings, directory)
    outstanding = Outstanding()
    opening_sentences = OpeningSentences(settings, store, composer)
    responder = Responder(settings, broker, store, topics.ready, source, party, callers)
    dispatcher = Dispatcher(
        settings,
        broker,
        catalogue.get,
        source,
        party,
        serving=catalogue.serving,
        versions=catalogue.versions,
        scan=scan_arguments,
        redact=redact_arguments,
    )
    state_writes = StateWritesInFlight()
    completion = Completion(
        settings,
        broker,
        store,
        planner,
        tools=tools,
        dispatch=dispatcher.dispatch_all,
        route=dispatcher.route,
        version=dispatcher.version_of,
        responder=responder,
        opening_sentences=opening_sentences,
        stop_expecting=outstanding.discard,
        write_settled=state_writes.settled,
        party=party,
        output_problem=catalogue.output_problem,
    )
    sweeper = Sweeper(
        settings,
        store,
        answer=completion.answer,
        forget_past_deadline=outstanding.forget_past_deadline,
        published_since=functools.partial(published_since, settings),
    )
    # The sweeper answers through the completion, and a reply given up on wakes the
    # sweeper: the completion is told of it once both exist.
    completion.expired = sweeper.wake
    intake = Intake(
        settings,
        broker,
        store,
        planner,
        party=party,
        callers=callers,
        tools=tools,
        gone_since=catalogue.gone_since,
        reply_topic_ready=topics.ready,
        dispatch=dispatcher.dispatch_all,
        route=dispatcher.route,
        version=dispatcher.version_of,
        scan=scan_arguments,
        gather=completion.gather,
        responder=responder,
        opening_sentences=opening_sentences,
        expect_replies=outstanding.add,
        request_opened=sweeper.opened,
        track_write=state_writes.track,
        remote_planner=remote_planner,
        pipelines=pipelines,
    )
    orchestrator = Orchestrator(intake, completion, sweeper, outstanding)
    broker_loss = BrokerLoss(store, forget_topics=directory.forget, wake_sweeper=sweeper.wake)
    # One pace for both: a request makes the replies consumer fast before its
    # replies come, and keeps it fast while they are due (a model's call takes seconds).
    pace = fetch_pace(settings, hold=orchestrator.awaits_replies)
    requests = ConcurrentConsumption(
        "requests",
        orchestrator.on_request,
        give_up=orchestrator.give_up_request,
        pace=pace,
        retries=settings.record_retries,
        # A requester may put its trace in the event instead of the headers.
        traceparent_of=envelope_traceparent,
    )
    replies = ConcurrentConsumption(
        "replies",
        orchestrator.on_reply,
        give_up=orchestrator.give_up_reply,
        pace=pace,
        retries=settings.record_retries,
    )
    subscribe(
        broker,
        settings,
        settings.requests_topic,
        group_id=ORCHESTRATOR_REQUESTS_GROUP,
        consumption=requests,
        title="requests",
    )
    subscribe(
        broker,
        settings,
        settings.replies_topic,
        group_id=ORCHESTRATOR_REPLIES_GROUP,
        consumption=replies,
        title="replies",
    )
    sweeping: list[asyncio.Task[None]] = []

    async def sweep() -> None:
        sweeping.append(asyncio.create_task(orchestrator.sweep_forever(), name="deadline-sweeper"))

    async def stop_sweeping() -> None:
        for task in sweeping:
            task.cancel()

    async def announce_pipelines() -> None:
        # Runnable here from the moment requests are consumed, as a micromodel is.
        await asyncio.gather(*(a.start() for a in announcers))

    async def withdraw_pipelines() -> None:
        await asyncio.gather(*(a.stop() for a in announcers))

    app = ServiceSkeleton(
        broker,
        settings,
        topics=mesh_topics(settings, settings.micromodels, party.policy.callers()),
        ready_line=lambda: (
            f"orchestrator {settings.replica} consuming {settings.requests_topic} and "
            f"{settings.replies_topic}; micromodels: {', '.join(catalogue.names()) or 'none yet'}"
        ),
        uses_redis=True,
        topics_known=directory.add,
        # Know the micromodels before the first request is planned.
        prepare=[catalogue.start],
        when_consuming=[sweep, announce_pipelines],
        stopping=[
            withdraw_pipelines,
            stop_sweeping,
            requests.drain,
            replies.drain,
            catalogue.stop,
            store.close,
        ],
        consumptions=[requests, replies],
        topics_lost=[broker_loss.topics_lost],
        workers=[model_worker] if model_worker is not None else [],
    ).app()
    count_in_flight(outstanding.count)
    return Assembly(app, orchestrator, broker, store, catalogue, requests, replies)


def create_app(
    settings: OrchestratorSettings | None = None,
    planner: Planner | None = None,
    composer: Composer | None = None,
    *,
    broker: KafkaBroker | None = None,
    store: GatherStorage | None = None,
    model_worker: Worker | None = None,
) -> FastStream:
    """The orchestrator as a FastStream app; defaults: rules planner, template composer."""
    return assemble(
        settings, planner, composer, broker=broker, store=store, model_worker=model_worker
    ).app


def build_planner(settings: OrchestratorSettings) -> PlannerSetup:
    """The planner and composer the settings ask for: the planner's local model and its
    thread, shared by the composer unless the composer's model is remote; and the remote
    planner, when one is set, for the requests it may read.

    A model that does not load stops the service.
    """
    remote_composer = None
    if settings.composer == "model" and settings.composer_remote is not None:
        remote = remote_model_or_exit(settings.composer_remote, what="orchestrator's composer")
        # Calls to an endpoint wait on the network: `concurrency` of them at once.
        remote_composer = ModelComposer(
            remote,
            Worker("composer", threads=remote.concurrency),
            queue=settings.composer_queue,
            max_classification=settings.composer_max_classification,
        )
    remote_planner = None
    if settings.planner_remote is not None:
        remote = remote_model_or_exit(settings.planner_remote, what="orchestrator's planner")
        remote_planner = RemotePlanning(
            RemotePlanner(
                remote,
                Worker("remote-planner", threads=remote.concurrency),
                max_calls=settings.max_calls,
            ),
            ceiling=settings.planner_max_classification or "public",
        )
    if settings.planner == "rules":
        return PlannerSetup(RulesPlanner(), remote_composer, remote_planner=remote_planner)
    model = load_model_or_exit(settings.model, what="orchestrator's planner")
    worker = Worker("model")
    composer = remote_composer or (
        ModelComposer(
            model,
            worker,
            queue=settings.composer_queue,
            max_classification=settings.composer_max_classification,
        )
        if settings.composer == "model"
        else None
    )
    planner = SlmPlanner(model, worker, budget_ms=settings.planning_budget_ms)
    return PlannerSetup(planner, composer, worker, remote_planner)


def main() -> None:
    settings = load_settings_or_exit(OrchestratorSettings, what="orchestrator")
    configure_logging(
        settings.log_level,
        log_format=settings.log_format,
        service=SERVICE,
        replica=settings.replica,
    )
    configure_tracing(SERVICE, settings.replica)
    # Before the model loads: a service that cannot prove its records says so at once.
    party = party_or_exit(settings, SERVICE)
    setup = build_planner(settings)
    app = assemble(
        settings,
        setup.planner,
        setup.composer,
        model_worker=setup.model_worker,
        party=party,
        remote_planner=setup.remote_planner,
    ).app
    run(app)
