import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { ServiceFactory } from '@backstage/backend-plugin-api';
import { JsonObject } from '@backstage/types';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Knex } from 'knex';
import request from 'supertest';
import type { Server } from 'node:http';
import { releaseCommandsPlugin } from '../plugin';

/** Starts the plugin alone on a test backend, as a user would reach it. */
export async function startPlugin(
  options: {
    knex?: Knex;
    permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
    extra?: ServiceFactory[];
    /** Replaces the default config, which points at no Docker engine. */
    config?: JsonObject;
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
      ...(options.permission
        ? [mockServices.permissions.factory({ result: options.permission })]
        : []),
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
