import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { BackendFeature, ServiceFactory } from '@backstage/backend-plugin-api';
import { JsonObject } from '@backstage/types';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Knex } from 'knex';
import request from 'supertest';
import type { Server } from 'node:http';
import { Entity, parseEntityRef } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { releaseCommandsPlugin } from '../plugin';

/** Starts the plugin alone on a test backend, as a user would reach it. */
export async function startPlugin(
  options: {
    knex?: Knex;
    /**
     * Every decision, or one per permission and user (`undefined` for a
     * service) for tests about who may do what.
     */
    permission?: Decision | ((permission: string, user?: string) => Decision);
    /** More services, plugins or modules. */
    extra?: BackendFeature[];
    /** Replaces the default config, which points at no Docker engine. */
    config?: JsonObject;
    /**
     * The catalog's entities; by default a catalog that has every entity
     * asked for (the uid derived from the ref), for tests about other
     * things.
     */
    entities?: Entity[];
    /** A catalog of the test's own, instead of `entities`. */
    getEntityByRef?: (ref: string) => Promise<Entity | undefined>;
  } = {},
): Promise<{
  server: Server;
  stop(): Promise<void>;
  get(path: string): request.Test;
  put(path: string, body?: unknown): request.Test;
  post(path: string, body?: unknown): request.Test;
  del(path: string): request.Test;
}> {
  const backend = await startTestBackend({
    features: [
      releaseCommandsPlugin,
      ...(options.knex
        ? [mockServices.database.factory({ knex: options.knex })]
        : []),
      ...(options.permission ? [permissionsFactory(options.permission)] : []),
      // No engine is needed to edit commands; point at none so the start-up
      // check answers at once.
      mockServices.rootConfig.factory({
        data: withTestImagesAllowed(
          options.config ?? {
            releaseCommands: {
              docker: { host: 'unix:///nonexistent/docker.sock' },
            },
          },
        ),
      }),
      options.entities
        ? catalogServiceMock.factory({ entities: options.entities })
        : catalogServiceMock.mock({
            getEntityByRef: async ref =>
              (options.getEntityByRef ?? (async r => anyEntity(r)))(
                String(ref),
              ),
          }).factory,
      ...(options.extra ?? []),
    ],
  });
  const user = mockCredentials.user.header('user:default/ada');
  const { server } = backend;
  return {
    server: server as unknown as Server,
    stop: () => backend.stop(),
    get: (path: string) =>
      request(server)
        .get(`/api/release-commands${path}`)
        .set('Authorization', user),
    put: (path: string, body?: unknown) =>
      request(server)
        .put(`/api/release-commands${path}`)
        .set('Authorization', user)
        .send(body as object),
    post: (path: string, body?: unknown) =>
      request(server)
        .post(`/api/release-commands${path}`)
        .set('Authorization', user)
        .send(body as object),
    del: (path: string) =>
      request(server)
        .delete(`/api/release-commands${path}`)
        .set('Authorization', user),
  };
}

type Decision = AuthorizeResult.ALLOW | AuthorizeResult.DENY;

function permissionsFactory(
  decide: Decision | ((permission: string, user?: string) => Decision),
): ServiceFactory {
  if (typeof decide !== 'function') {
    return mockServices.permissions.factory({ result: decide });
  }
  return mockServices.permissions.mock({
    authorize: async (requests, { credentials }) => {
      const principal = credentials.principal as {
        type: string;
        userEntityRef?: string;
      };
      const user =
        principal.type === 'user' ? principal.userEntityRef : undefined;
      return requests.map(({ permission }) => ({
        result: decide(permission.name, user),
      }));
    },
  }).factory;
}

/**
 * The images the tests build (`release-commands-test/...`) allowed, unless
 * the test says which images are.
 */
function withTestImagesAllowed(config: JsonObject): JsonObject {
  const releaseCommands = (config.releaseCommands ?? {}) as JsonObject;
  if (releaseCommands.images !== undefined) return config;
  return {
    ...config,
    releaseCommands: {
      ...releaseCommands,
      images: { allow: [{ repositoryPrefix: 'release-commands-test/' }] },
    },
  };
}

/** The entity a catalog that has every entity gives for `ref`. */
export function anyEntity(ref: string): Entity {
  const { kind, namespace, name } = parseEntityRef(ref);
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name, namespace, uid: `uid-of-${ref.toLowerCase()}` },
  };
}
