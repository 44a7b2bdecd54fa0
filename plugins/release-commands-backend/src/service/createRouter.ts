import {
  AuditorService,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  appendCommandRequestSchema,
  CommandDeclarations,
  CommandRevisionPage,
  listRevisionsQuerySchema,
  releaseCommandPresets,
  releaseCommandsReadPermission,
  releaseCommandsUpdatePermission,
  replaceCommandsRequestSchema,
  restoreRevisionRequestSchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import { CatalogService } from '@backstage/plugin-catalog-node';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import {
  ReleaseCommandsStore,
  StoredCommandList,
} from '../database/ReleaseCommandsStore';
import { lastImageDeclaration } from '../declarations/lastImageDeclaration';
import { audited } from './audited';
import { createRunsRouter, RunsRouterOptions } from './createRunsRouter';
import { EntityAccess } from './EntityAccess';
import { jsonBody } from './jsonBody';
import { KnownEntities } from './KnownEntities';
import { entityRefFromPath, parseRequest } from './parseRequest';

/** What the router needs. */
export type RouterOptions = {
  store: ReleaseCommandsStore;
  /** Where entities are looked up, with the caller's credentials. */
  catalog: Pick<CatalogService, 'getEntityByRef'>;
  runs: Pick<
    RunsRouterOptions,
    | 'orchestrator'
    | 'runsStore'
    | 'logStore'
    | 'events'
    | 'retentionSeconds'
    | 'imagePolicy'
    | 'declarations'
  >;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  defaultTimeoutSeconds: number;
};

const COMMANDS_PATH = '/entities/:kind/:namespace/:name/commands';

/** The plugin's HTTP API, mounted under `/api/release-commands`. */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { store, auditor, defaultTimeoutSeconds } = options;
  const access = new EntityAccess(options.httpAuth, options.permissions);
  const known = new KnownEntities(options.catalog, store);
  const router = Router();
  router.use(...jsonBody());
  router.use(
    createRunsRouter({
      ...options.runs,
      known,
      httpAuth: options.httpAuth,
      permissions: options.permissions,
      auditor,
    }),
  );

  const toResponse = (list: StoredCommandList) => ({
    ...list,
    defaultTimeoutSeconds,
  });

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/presets', async (req, res) => {
    await options.httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json({ presets: releaseCommandPresets });
  });

  router.get(COMMANDS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsReadPermission,
      entityRef,
    );
    await known.require(credentials, entityRef, actor);
    res.json(toResponse(await store.getCommands(entityRef)));
  });

  router.get(`${COMMANDS_PATH}/declared`, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsReadPermission,
      entityRef,
    );
    const entity = await known.require(credentials, entityRef, actor);
    const response: CommandDeclarations = {
      entityRef,
      declarations: [
        ...[await options.runs.declarations.read(entity)].flatMap(d => d ?? []),
        ...(await lastImageDeclaration(options.runs.runsStore, entityRef)),
      ],
    };
    res.json(response);
  });

  router.put(COMMANDS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsUpdatePermission,
      entityRef,
    );
    await known.require(credentials, entityRef, actor);
    const body = parseRequest(replaceCommandsRequestSchema, req.body, 'body');
    const list = await audited(
      auditor,
      req,
      {
        eventId: 'commands-update',
        meta: { entityRef, action: 'replace', revision: body.revision },
      },
      async () => {
        const { changes, ...after } = await store.replaceCommands({
          entityRef,
          actor,
          ...body,
        });
        return { result: after, meta: { revision: after.revision, changes } };
      },
    );
    res.json(toResponse(list));
  });

  router.post(COMMANDS_PATH, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsUpdatePermission,
      entityRef,
    );
    await known.require(credentials, entityRef, actor);
    const body = parseRequest(appendCommandRequestSchema, req.body, 'body');
    const { source = 'api', ...rest } = body;
    const appended = await audited(
      auditor,
      req,
      {
        eventId: 'commands-update',
        meta: { entityRef, action: 'append', label: body.label, source },
      },
      async () => {
        const result = await store.appendCommand({
          entityRef,
          actor,
          command: { ...rest, source },
        });
        return {
          result,
          meta: { created: result.created, revision: result.list.revision },
        };
      },
    );
    res.status(appended.created ? 201 : 200).json({
      command: appended.command,
      created: appended.created,
      ...toResponse(appended.list),
    });
  });

  router.delete(`${COMMANDS_PATH}/:id`, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsUpdatePermission,
      entityRef,
    );
    await known.require(credentials, entityRef, actor);
    const { id } = req.params;
    const list = await audited(
      auditor,
      req,
      {
        eventId: 'commands-update',
        meta: { entityRef, action: 'delete', commandId: id },
      },
      async () => {
        const result = await store.deleteCommand({ entityRef, id, actor });
        return { result, meta: { revision: result.revision } };
      },
    );
    res.json(toResponse(list));
  });

  router.get(`${COMMANDS_PATH}/history`, async (req, res) => {
    const entityRef = entityRefFromPath(req);
    const { credentials, actor } = await access.authorize(
      req,
      releaseCommandsReadPermission,
      entityRef,
    );
    await known.require(credentials, entityRef, actor);
    const query = parseRequest(listRevisionsQuerySchema, req.query, 'query');
    const { revisions, more } = await store.listRevisions(entityRef, {
      limit: query.limit ?? 20,
      before: query.cursor === undefined ? undefined : Number(query.cursor),
    });
    const page: CommandRevisionPage = { revisions };
    if (more)
      page.nextCursor = String(revisions[revisions.length - 1].revision);
    res.json(page);
  });

  router.post(
    `${COMMANDS_PATH}/history/:revision/restore`,
    async (req, res) => {
      const entityRef = entityRefFromPath(req);
      const { credentials, actor } = await access.authorize(
        req,
        releaseCommandsUpdatePermission,
        entityRef,
      );
      await known.require(credentials, entityRef, actor);
      const { from } = parseRequest(
        z.object({ from: z.coerce.number().int().min(1) }),
        { from: req.params.revision },
        'path',
      );
      const body = parseRequest(restoreRevisionRequestSchema, req.body, 'body');
      const list = await audited(
        auditor,
        req,
        {
          eventId: 'commands-update',
          meta: {
            entityRef,
            action: 'restore',
            revision: body.revision,
            restoredFrom: from,
          },
        },
        async () => {
          const { changes, ...after } = await store.restoreRevision({
            entityRef,
            revision: body.revision,
            from,
            actor,
          });
          return { result: after, meta: { revision: after.revision, changes } };
        },
      );
      res.json(toResponse(list));
    },
  );

  return router;
}
