import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import { NotAllowedError, ResponseError } from '@backstage/errors';
import {
  ReleaseCommandsClient,
  releaseCommandsPageUrl,
} from '@release-commands/backstage-plugin-release-commands-common';
import { createReleaseCommandsServiceClient } from '@release-commands/backstage-plugin-release-commands-node';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import type { z as zod } from 'zod/v3';

type Z = typeof zod;

/** Most lines of a log the run action gives back. */
const MAX_TAIL_LINES = 1000;

const entityRefInput = (z: Z) =>
  z
    .string()
    .describe(
      'The entity whose release commands these are, as kind:namespace/name, e.g. component:default/shop',
    );

/** What the HTTP API answers, described for agents; nothing is dropped. */
const commandOutput = (z: Z) =>
  z
    .object({
      id: z.string(),
      label: z.string(),
      command: z.string().describe('Run by /bin/sh -c in the image'),
      source: z
        .string()
        .describe('Where the command came from: user, template, api, ...'),
      enabled: z.boolean(),
      timeoutSeconds: z
        .number()
        .nullable()
        .describe('Null: the default timeout applies'),
    })
    .passthrough();

const stepOutput = (z: Z) =>
  z
    .object({
      position: z.number(),
      label: z.string(),
      command: z.string(),
      status: z.string(),
      exitCode: z.number().nullable(),
      timeoutSeconds: z.number(),
    })
    .passthrough();

const runOutput = (z: Z) =>
  z
    .object({
      id: z.string(),
      entityRef: z.string(),
      environment: z.string(),
      image: z.string(),
      status: z
        .string()
        .describe(
          'queued, running, succeeded, failed, timed_out, cancelled or interrupted; only succeeded lets a deploy go on',
        ),
      reason: z
        .string()
        .nullable()
        .describe('Why it did not succeed, in one sentence'),
      steps: z.array(stepOutput(z)),
    })
    .passthrough();

/**
 * Registers the plugin's actions with Backstage's actions registry, so
 * agents (through `@backstage/plugin-mcp-actions-backend`) and other
 * plugins can read an entity's commands and runs and start a run. Each
 * action calls the plugin's own HTTP API on behalf of the caller: the same
 * permission checks, audit events and answers as a request from the tab.
 */
export function registerActions(options: {
  actionsRegistry: ActionsRegistryService;
  auth: AuthService;
  discovery: DiscoveryService;
  appBaseUrl: string;
}) {
  const { actionsRegistry, auth, discovery, appBaseUrl } = options;
  /**
   * Calls the API as the caller; a refusal is the API's own error (its
   * name, message and status: a 403 naming the permission, say) rather
   * than the client's "Request failed with 403".
   */
  async function asCaller<T>(
    credentials: BackstageCredentials,
    call: (client: ReleaseCommandsClient) => Promise<T>,
  ): Promise<T> {
    const client = createReleaseCommandsServiceClient({
      auth,
      discovery,
      onBehalfOf: async () => credentials,
    });
    try {
      return await call(client);
    } catch (error) {
      if (error instanceof ResponseError) {
        throw Object.assign(error.cause, { statusCode: error.statusCode });
      }
      throw error;
    }
  }

  actionsRegistry.register({
    name: 'get-commands',
    title: 'Get release commands',
    description:
      "An entity's release commands in the order a deploy runs them, each with where it came from, and the list's revision.",
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z => z.object({ entityRef: entityRefInput(z) }),
      output: z =>
        z
          .object({
            entityRef: z.string(),
            revision: z.number(),
            defaultTimeoutSeconds: z.number(),
            commands: z.array(commandOutput(z)),
          })
          .passthrough(),
    },
    action: async ({ input, credentials }) => ({
      output: await asCaller(credentials, client =>
        client.getCommands(input.entityRef),
      ),
    }),
  });

  actionsRegistry.register({
    name: 'list-runs',
    title: 'List release command runs',
    description:
      "A page of an entity's release command runs, newest first, each with its status, reason and steps.",
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          limit: z.number().int().min(1).max(100).optional(),
          cursor: z
            .string()
            .optional()
            .describe('The nextCursor of the page before'),
        }),
      output: z =>
        z
          .object({
            runs: z.array(runOutput(z)),
            nextCursor: z.string().optional(),
          })
          .passthrough(),
    },
    action: async ({ input, credentials }) => ({
      output: await asCaller(credentials, client =>
        client.listRuns(input.entityRef, {
          limit: input.limit,
          cursor: input.cursor,
        }),
      ),
    }),
  });

  actionsRegistry.register({
    name: 'get-run',
    title: 'Get a release command run',
    description:
      'One release command run with its steps, the last lines of its log and the link to its page in the portal.',
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          runId: z.string().describe('The run id, a UUID'),
          logTailLines: z
            .number()
            .int()
            .min(0)
            .max(MAX_TAIL_LINES)
            .optional()
            .describe('How many of the last log lines to include (default 50)'),
        }),
      output: z =>
        z.object({
          run: runOutput(z),
          logTail: z.string(),
          url: z.string(),
        }),
    },
    action: async ({ input, credentials }) => {
      const { run, log } = await asCaller(credentials, async client => {
        const read = await client.getRun(input.runId);
        return { run: read, log: await client.getLogText(read.id) };
      });
      return {
        output: {
          run,
          logTail: tail(log, input.logTailLines ?? 50),
          url: releaseCommandsPageUrl(appBaseUrl, run.entityRef, run.id),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'run',
    title: 'Run release commands',
    description:
      "Starts a run of an entity's release commands on an image, one after another, each in a fresh container; answers at once with the queued run. Read it with get-run until its status is final: only succeeded lets the deploy go on.",
    attributes: { destructive: true, readOnly: false, idempotent: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          image: z
            .string()
            .describe(
              'The image the deploy ships, e.g. registry.example.com/shop:1.4.2',
            ),
          environment: z
            .string()
            .optional()
            .describe('The environment deployed to (default: default)'),
          env: z
            .record(z.string())
            .optional()
            .describe(
              'Variables for the commands; their values are masked in the log and never stored',
            ),
        }),
      output: z => z.object({ run: runOutput(z), url: z.string() }),
    },
    action: async ({ input, credentials }) => {
      // A service's credentials reach an action as those of the plugin
      // that forwarded them, so a run it started could not say whose it is.
      if (!auth.isPrincipal(credentials, 'user')) {
        throw new NotAllowedError(
          'The run action starts runs only for a signed-in user, so that each run says who started it; a pipeline starts runs with its own token through the API or the release-commands CLI',
        );
      }
      const run = await asCaller(credentials, client =>
        client.createRun(input.entityRef, {
          image: input.image,
          environment: input.environment,
          env: input.env,
        }),
      );
      return {
        output: {
          run,
          url: releaseCommandsPageUrl(appBaseUrl, run.entityRef, run.id),
        },
      };
    },
  });
}

/** The last `lines` lines of `text`. */
function tail(text: string, lines: number): string {
  if (lines === 0) return '';
  const all = text.endsWith('\n')
    ? text.slice(0, -1).split('\n')
    : text.split('\n');
  return all.slice(-lines).join('\n');
}
