import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { ResourcePermission } from '@backstage/plugin-permission-common';
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
import { shownPlan } from '../runs/RunCheck';
import { ImagePolicy } from '../runs/ImagePolicy';
import { RepositoryDeclarations } from '../declarations/RepositoryDeclarations';
import { RunEvents } from '../runs/RunEvents';
import { RunOrchestrator } from '../runs/RunOrchestrator';
import { audited } from './audited';
import { KnownEntities } from './KnownEntities';
import {
  hideStepCommandsInLog,
  withStepCommandsHidden,
} from './hideStepCommands';
import {
  describeActor,
  EntityAccess,
  notAllowed,
  triggerOf,
} from './EntityAccess';
import { entityRefFromPath, parseRequest } from './parseRequest';
import { LogReads } from './LogReads';
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
  /** What entities' repositories declare. */
  declarations: RepositoryDeclarations;
  /** How long ended runs are kept, told with each page; null keeps all. */
  retentionSeconds: number | null;
};

const RUNS_PATH = '/entities/:kind/:namespace/:name/runs';

/** Starting, watching and cancelling runs of an entity's release commands. */
export function createRunsRouter(options: RunsRouterOptions): express.Router {
  const { orchestrator, runsStore, logStore, events, auditor } = options;
  const access = new EntityAccess(options.httpAuth, options.permissions);
  // Every reader of stored logs, through one queue: see LogReads.
  const logReads = new LogReads(logStore, events);
  const router = Router();

  /**
   * The run of a `/runs/:id` route, if the caller may read it, with whether
   * they may see its commands and which of `also` they hold on its entity.
   */
  async function readableRun(
    req: Request,
    also: ResourcePermission<'catalog-entity'>[] = [],
  ): Promise<{
    run: ReleaseCommandRun;
    credentials: BackstageCredentials;
    seesCommands: boolean;
    granted: boolean[];
  }> {
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
    const [seesCommands, ...granted] = await access.check(
      credentials,
      releaseCommandsRunReadPermission,
      run.entityRef,
      [releaseCommandsReadPermission, ...also],
    );
    return { run, credentials, seesCommands, granted };
  }

  router.post(RUNS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const {
      credentials,
      actor,
      granted: [seesCommands],
    } = await access.authorize(
      req,
      releaseCommandsRunCreatePermission,
      entityRef,
      [releaseCommandsReadPermission],
    );
    const body = parseRequest(createRunRequestSchema, req.body, 'body');
    const environment = body.environment ?? DEFAULT_RUN_ENVIRONMENT;
    const meta = {
      entityRef,
      image: body.image,
      environment,
      envKeys: Object.keys(body.env ?? {}),
    };
    // Before anything is stored or pulled: the registry credentials are used
    // only for allowed sources.
    const mayRun = async () => {
      const entity = await options.known.require(credentials, entityRef, actor);
      options.imagePolicy.check(body.image, environment, entity);
      return entity;
    };
    if (body.dryRun) {
      const plan = await audited(
        auditor,
        req,
        { eventId: 'run-check', meta },
        async () => {
          const entity = await mayRun();
          const checked = shownPlan(
            await orchestrator.checkRun({
              declaration: await options.declarations.read(entity),
              entityRef,
              image: body.image,
              env: body.env ?? {},
              environment,
            }),
            seesCommands,
          );
          return { result: checked, meta: { problems: checked.problems } };
        },
      );
      res.json(plan);
      return;
    }
    const run = await audited(
      auditor,
      req,
      { eventId: 'run-create', meta },
      async () => {
        const entity = await mayRun();
        const created = await orchestrator.createRun({
          declaration: await options.declarations.read(entity),
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
      .json(shown(run, seesCommands));
  });

  router.get(RUNS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const {
      granted: [seesCommands],
    } = await access.authorize(
      req,
      releaseCommandsRunReadPermission,
      entityRef,
      [releaseCommandsReadPermission],
    );
    const query = parseRequest(listRunsQuerySchema, req.query, 'query');
    const stored = await runsStore.listRuns(entityRef, {
      limit: query.limit ?? 20,
      cursor: query.cursor,
    });
    const page: ReleaseCommandRunPage = {
      ...stored,
      runs: stored.runs.map(run => shown(run, seesCommands)),
      retentionSeconds: options.retentionSeconds,
    };
    res.json(page);
  });

  router.get('/runs/:id', async (req, res) => {
    const { run, seesCommands } = await readableRun(req);
    res.json(shown(run, seesCommands));
  });

  router.post('/runs/:id/cancel', async (req, res) => {
    const {
      run,
      credentials,
      seesCommands,
      granted: [startsRuns, cancelsAnyRun],
    } = await readableRun(req, [
      releaseCommandsRunCreatePermission,
      releaseCommandsRunCancelPermission,
    ]);
    // Its own run, a caller may cancel with the right that started it (a
    // pipeline stopping its deploy on timeout); anyone's needs runs.cancel.
    const ownRun = describeActor(credentials) === run.triggeredBy && startsRuns;
    if (!ownRun && !cancelsAnyRun) {
      throw notAllowed(releaseCommandsRunCancelPermission, run.entityRef);
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
    res.status(202).json(shown(cancelled, seesCommands));
  });

  router.get('/runs/:id/logs', async (req, res) => {
    const { run, seesCommands } = await readableRun(req);
    const query = parseRequest(runLogsQuerySchema, req.query, 'query');
    // What an EventSource sends when it reconnects: the last id it saw.
    const lastEventId = req.header('last-event-id') ?? '';
    const afterSeq =
      query.after ??
      (/^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : -1);
    const source = {
      runsStore,
      logStore: logReads,
      events,
      view: seesCommands ? undefined : hideStepCommandsInLog(run),
    };
    if (query.follow === 'true') {
      await streamRunLogEvents(req, res, source, run.id, afterSeq);
    } else {
      await sendRunLogText(res, source, run.id, afterSeq);
    }
  });

  return router;
}

/** The run as a caller who may, or may not, see its commands sees it. */
function shown(run: ReleaseCommandRun, seesCommands: boolean) {
  return seesCommands ? run : withStepCommandsHidden(run);
}
