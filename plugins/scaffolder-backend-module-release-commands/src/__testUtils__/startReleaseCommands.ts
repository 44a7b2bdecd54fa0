import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { JsonObject } from '@backstage/types';
import {
  CompoundEntityRef,
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { ReleaseCommandsClient } from '@release-commands/backstage-plugin-release-commands-common';
// The plugin that the actions call, so the tests see what it really stores.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import releaseCommandsPlugin from '@release-commands/backstage-plugin-release-commands-backend';
import { AddressInfo } from 'node:net';
import { pluginAuth } from './pluginAuth';

/** Who runs the templates in these tests. */
export const TEMPLATE_USER = 'user:default/ada';

/**
 * The release-commands backend alone on a test backend, with what an action
 * needs to reach it as the scaffolder would (discovery and the scaffolder's
 * auth), and a client to check what it holds. The backend keeps commands
 * only for entities its catalog knows; by default the catalog has every
 * entity asked for.
 */
export async function startReleaseCommands(
  options: {
    releaseCommands?: JsonObject;
    permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
    /**
     * A catalog of the test's own, asked with the ref in its
     * `kind:namespace/name` form; {@link anyEntity} is what the default
     * catalog answers.
     */
    getEntityByRef?: (entityRef: string) => Promise<Entity | undefined>;
  } = {},
): Promise<{
  discovery: DiscoveryService;
  auth: AuthService;
  /** The API as the template user sees it. */
  api: ReleaseCommandsClient;
  stop(): Promise<void>;
}> {
  const backend = await startTestBackend({
    features: [
      releaseCommandsPlugin,
      mockServices.rootConfig.factory({
        data: {
          releaseCommands: options.releaseCommands ?? {
            // Editing commands needs no engine; point at none.
            docker: { host: 'unix:///nonexistent/docker.sock' },
          },
        },
      }),
      ...(options.permission
        ? [mockServices.permissions.factory({ result: options.permission })]
        : []),
      catalogServiceMock.mock({
        getEntityByRef: async (ref: string | CompoundEntityRef) => {
          const entityRef =
            typeof ref === 'string' ? ref : stringifyEntityRef(ref);
          return options.getEntityByRef
            ? options.getEntityByRef(entityRef)
            : anyEntity(entityRef);
        },
      }).factory,
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  const pluginUrl = async (pluginId: string) =>
    `http://127.0.0.1:${port}/api/${pluginId}`;
  return {
    discovery: { getBaseUrl: pluginUrl, getExternalBaseUrl: pluginUrl },
    auth: pluginAuth('scaffolder'),
    api: new ReleaseCommandsClient({
      baseUrl: () => pluginUrl('release-commands'),
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set(
          'Authorization',
          mockCredentials.user.header(TEMPLATE_USER),
        );
        return fetch(input, { ...init, headers });
      },
    }),
    stop: () => backend.stop(),
  };
}

/**
 * The entity the default catalog has for `entityRef`, with a uid derived
 * from the ref: the backend ties an entity's commands to its uid, so one
 * uid per ref keeps them across lookups.
 */
export function anyEntity(entityRef: string): Entity {
  const { kind, namespace, name } = parseEntityRef(entityRef);
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: {
      name,
      namespace,
      uid: `uid-of-${entityRef.toLocaleLowerCase('en-US')}`,
    },
  };
}
