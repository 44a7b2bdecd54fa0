import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  createRunRequestSchema,
  DEFAULT_RUN_ENVIRONMENT,
  listRunsQuerySchema,
  releaseCommandsRunCancelPermission,
  releaseCommandsRunCreatePermission,
  releaseCommandsReadPermission,
  releaseCommandsRunReadPermission,
  ReleaseCommandRun,
  ReleaseCommandRunPage,
  runIdSchema,
  runLogsQuerySchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import express, { Request } from 'express';
import { z } from 'zod';
import Router from 'express-promise-router';
import { RunLogStore } from '../database/RunLogStore';
import { RunsStore } from '../database/RunsStore';
import { ImagePolicy } from '../runs/ImagePolicy';
import { RunEvents } from '../runs/RunEvents';
import { RunOrchestrator } from '../runs/RunOrchestrator';
import { audited } from './audited';
import { KnownEntities } from './KnownEntities';
import {
  hideStepCommandsInLog,
  withStepCommandsHidden,
} from './hideStepCommands';
import { describeActor, EntityAccess, triggerOf } from './EntityAccess';
import { entityRefFromPath, parseRequest } from './parseRequest';
import { sendRunLogText, streamRunLogEvents } from './streamRunLog';

export type RunsRouterOptions = {
  orchestrator: RunOrchestrator;
  runsStore: RunsStore;
  logStore: RunLogStore;
  events: RunEvents;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  /** Runs start only for entities the catalog knows. */
  known: KnownEntities;
  /** Which images runs may use, per environment. */
  imagePolicy: ImagePolicy;
  /** How long ended runs are kept, told with each page; null keeps all. */
  retentionSeconds: number | null;
};

const RUNS_PATH = '/entities/:kind/:namespace/:name/runs';

/** Starting, watching and cancelling runs of an entity's release commands. */
export function createRunsRouter(options: RunsRouterOptions): express.Router {
  const { orchestrator, runsStore, logStore, events, auditor } = options;
  const access = new EntityAccess(options.httpAuth, options.permissions);
  const router = Router();

  /** Whether the caller may see the commands of the entity's runs. */
  function seesCommands(credentials: BackstageCredentials, entityRef: string) {
    return access.allows(credentials, releaseCommandsReadPermission, entityRef);
  }

  /** The run as the caller may see it. */
  async function asSeenBy(
    credentials: BackstageCredentials,
    run: ReleaseCommandRun,
  ): Promise<ReleaseCommandRun> {
    return (await seesCommands(credentials, run.entityRef))
      ? run
      : withStepCommandsHidden(run);
  }

  /** The run of a `/runs/:id` route, if the caller may read it. */
  async function readableRun(
    req: Request,
  ): Promise<{ run: ReleaseCommandRun; credentials: BackstageCredentials }> {
    const credentials = await access.authenticate(req);
    const { id } = parseRequest(
      z.object({ id: runIdSchema }),
      { id: req.params.id },
      'path',
    );
    const run = await runsStore.getRun(id);
    if (!run) {
      throw new NotFoundError(`No run ${id}`);
    }
    await access.check(
      credentials,
      releaseCommandsRunReadPermission,
      run.entityRef,
    );
    return { run, credentials };
  }

  router.post(RUNS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsRunCreatePermission,
      entityRef,
    );
    const body = parseRequest(createRunRequestSchema, req.body, 'body');
    const environment = body.environment ?? DEFAULT_RUN_ENVIRONMENT;
    const run = await audited(
      auditor,
      req,
      {
        eventId: 'run-create',
        meta: {
          entityRef,
          image: body.image,
          environment,
          envKeys: Object.keys(body.env ?? {}),
        },
      },
      async () => {
        await options.known.require(credentials, entityRef, actor);
        // Before anything is stored or pulled: the registry credentials are
        // used only for allowed sources.
        options.imagePolicy.check(body.image, environment);
        const created = await orchestrator.createRun({
          entityRef,
          image: body.image,
          env: body.env ?? {},
          environment,
          trigger: triggerOf(credentials),
          actor,
        });
        return { result: created, meta: { runId: created.id } };
      },
    );
    res
      .status(202)
      .location(`${req.baseUrl}/runs/${run.id}`)
      .json(await asSeenBy(credentials, run));
  });

  router.get(RUNS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials } = await access.authorize(
      req,
      releaseCommandsRunReadPermission,
      entityRef,
    );
    const query = parseRequest(listRunsQuerySchema, req.query, 'query');
    const stored = await runsStore.listRuns(entityRef, {
      limit: query.limit ?? 20,
      cursor: query.cursor,
    });
    const page: ReleaseCommandRunPage = {
      ...stored,
      runs: (await seesCommands(credentials, entityRef))
        ? stored.runs
        : stored.runs.map(withStepCommandsHidden),
      retentionSeconds: options.retentionSeconds,
    };
    res.json(page);
  });

  router.get('/runs/:id', async (req, res) => {
    const { run, credentials } = await readableRun(req);
    res.json(await asSeenBy(credentials, run));
  });

  router.post('/runs/:id/cancel', async (req, res) => {
    const { run, credentials } = await readableRun(req);
    // Its own run, a caller may cancel with the right that started it (a
    // pipeline stopping its deploy on timeout); anyone's needs runs.cancel.
    const ownRun =
      describeActor(credentials) === run.triggeredBy &&
      (await access.allows(
        credentials,
        releaseCommandsRunCreatePermission,
        run.entityRef,
      ));
    if (!ownRun) {
      await access.check(
        credentials,
        releaseCommandsRunCancelPermission,
        run.entityRef,
      );
    }
    const cancelled = await audited(
      auditor,
      req,
      {
        eventId: 'run-cancel',
        meta: { runId: run.id, entityRef: run.entityRef },
      },
      async () => {
        const result = await orchestrator.cancel(
          run.id,
          describeActor(credentials),
        );
        return { result, meta: { status: result.status } };
      },
    );
    res.status(202).json(await asSeenBy(credentials, cancelled));
  });

  router.get('/runs/:id/logs', async (req, res) => {
    const { run, credentials } = await readableRun(req);
    const query = parseRequest(runLogsQuerySchema, req.query, 'query');
    // What an EventSource sends when it reconnects: the last id it saw.
    const lastEventId = req.header('last-event-id') ?? '';
    const afterSeq =
      query.after ??
      (/^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : -1);
    const source = {
      runsStore,
      logStore,
      events,
      view: (await seesCommands(credentials, run.entityRef))
        ? undefined
        : hideStepCommandsInLog(run),
    };
    if (query.follow === 'true') {
      await streamRunLogEvents(req, res, source, run.id, afterSeq);
    } else {
      await sendRunLogText(res, source, run.id, afterSeq);
    }
  });

  return router;
}
