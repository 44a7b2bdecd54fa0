import {
  AuthService,
  DiscoveryService,
  LoggerService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  describeError,
  entityRefSchema,
  environmentNameSchema,
  followRunLog,
  imageReferenceSchema,
  plural,
  ReleaseCommandsClient,
  releaseCommandsPageUrl,
  runEnvSchema,
  RunLogEnd,
} from '@release-commands/backstage-plugin-release-commands-common';
import { createReleaseCommandsServiceClient } from '@release-commands/backstage-plugin-release-commands-node';
import { runReleaseCommandsExamples } from './createRunReleaseCommandsAction.examples';
import { parseActionInput } from './parseActionInput';
import { RunLogLines } from './RunLogLines';
import {
  isNotInCatalog,
  parseWaitForEntitySeconds,
  MAX_WAIT_FOR_ENTITY_SECONDS,
  untilEntityKnown,
  waitForEntitySecondsDescription,
} from './waitForEntity';

/**
 * How long a cancelled task waits for its run to stop before it gives up
 * following: the backend stops the command with SIGTERM, then SIGKILL after
 * its grace period (10 s by default).
 */
const CANCEL_WAIT_MS = 60_000;

const FAILED_STATUS_WORDS: Record<string, string> = {
  failed: 'failed',
  timed_out: 'timed out',
  cancelled: 'were cancelled',
  interrupted: 'were interrupted',
};

/**
 * `release-commands:run`: runs an entity's release commands on the image a
 * deploy template is about to ship, and fails the step unless they pass.
 *
 * @public
 */
export function createRunReleaseCommandsAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
  config: RootConfigService;
}) {
  const appBaseUrl = options.config.getOptionalString('app.baseUrl') ?? '';

  return createTemplateAction({
    id: 'release-commands:run',
    description:
      "Runs an entity's release commands on an image, each in a fresh container, and streams their output into " +
      'the task log. The step fails when a command fails or times out, or the run is cancelled or interrupted, so ' +
      'the deploy steps after it only run when the release phase passed. Cancelling the task cancels the run. ' +
      'A run is never started twice for one step, even when the task is recovered. The entity must be in the ' +
      'catalog; when it is not there yet (a template that registers it just before), the step waits for the ' +
      'catalog to ingest it, up to waitForEntitySeconds. A dry run lists the commands that would run and starts ' +
      'nothing; it does not wait.',
    examples: runReleaseCommandsExamples,
    supportsDryRun: true,
    schema: {
      input: {
        entityRef: z =>
          z
            .string()
            .describe(
              'The entity whose commands to run, as kind:namespace/name, e.g. component:default/shop',
            ),
        image: z =>
          z
            .string()
            .describe(
              'The image being deployed, e.g. registry.example.com/team/shop:1.4.2',
            ),
        env: z =>
          z
            .record(z.string())
            .optional()
            .describe(
              "Variables for the commands' containers. Values are treated as secrets: masked in the log, never stored",
            ),
        environment: z =>
          z
            .string()
            .optional()
            .describe(
              'Which environment the deploy goes to, e.g. production; one run per entity and environment at a time',
            ),
        waitForEntitySeconds: z =>
          z
            .number()
            .int()
            .min(0)
            .max(MAX_WAIT_FOR_ENTITY_SECONDS)
            .optional()
            .describe(waitForEntitySecondsDescription),
      },
      output: {
        runId: z =>
          z.string().optional().describe('The run (not in a dry run)'),
        status: z =>
          z
            .string()
            .optional()
            .describe(
              'How the run ended: succeeded (otherwise the step fails)',
            ),
        runUrl: z =>
          z
            .string()
            .describe(
              "The run's page in the portal (in a dry run: the entity's Release commands tab)",
            ),
      },
    },
    async handler(ctx) {
      const entityRef = parseActionInput(
        entityRefSchema,
        ctx.input.entityRef,
        'entityRef',
      );
      const image = parseActionInput(
        imageReferenceSchema,
        ctx.input.image,
        'image',
      );
      const env =
        ctx.input.env === undefined
          ? undefined
          : parseActionInput(runEnvSchema, ctx.input.env, 'env');
      // A template renders an unset parameter as an empty string.
      const environment = ctx.input.environment
        ? parseActionInput(
            environmentNameSchema,
            ctx.input.environment,
            'environment',
          )
        : undefined;
      const waitSeconds = parseWaitForEntitySeconds(
        ctx.input.waitForEntitySeconds,
      );
      const client = createReleaseCommandsServiceClient({
        ...options,
        onBehalfOf: () => ctx.getInitiatorCredentials(),
      });

      if (ctx.isDryRun) {
        await logDryRun(ctx.logger, client, entityRef, image, waitSeconds);
        ctx.output('runUrl', releaseCommandsPageUrl(appBaseUrl, entityRef));
        return;
      }
      if (ctx.signal?.aborted) {
        throw new Error('The task was cancelled before the run started');
      }

      const { runId } = await ctx.checkpoint({
        key: `run:${entityRef}:${environment ?? ''}:${image}`,
        fn: async () => {
          // Starting the run is itself what waits: the backend refuses it
          // for an entity not in the catalog before it stores or pulls
          // anything, so asking again cannot start a second run. Inside the
          // checkpoint, so a task recovered after giving up waits again.
          const run = await untilEntityKnown({
            entityRef,
            waitSeconds,
            logger: ctx.logger,
            signal: ctx.signal,
            notDone: 'no run was started',
            request: () =>
              client.createRun(entityRef, { image, env, environment }),
            otherError: error =>
              new Error(
                `Could not start the release commands of ${entityRef}: ${describeError(
                  error,
                )}`,
              ),
          });
          return { runId: run.id };
        },
      });
      const runUrl = releaseCommandsPageUrl(appBaseUrl, entityRef, runId);
      ctx.logger.info(`Run ${runId} of ${entityRef} on ${image}: ${runUrl}`);
      ctx.output('runId', runId);
      ctx.output('runUrl', runUrl);

      const end = await followUntilEnd({
        client,
        runId,
        logger: ctx.logger,
        taskSignal: ctx.signal,
      }).catch(error => {
        throw new Error(
          ctx.signal?.aborted
            ? `The task was cancelled and run ${runId} was asked to stop; see ${runUrl}`
            : `Lost the log of run ${runId}, which may still be going: ${describeError(
                error,
              )}; see ${runUrl}`,
        );
      });
      ctx.output('status', end.status);
      if (end.status !== 'succeeded') {
        const what = FAILED_STATUS_WORDS[end.status] ?? end.status;
        throw new Error(
          `Release commands of ${entityRef} ${what}: ${
            end.reason ?? 'no reason given'
          } See ${runUrl}`,
        );
      }
      ctx.logger.info(`Release commands of ${entityRef} passed`);
    },
  });
}

/**
 * Writes the run's log into the task log until the run ends. When the task
 * is cancelled, the run is cancelled too and followed until it has stopped,
 * so the log shows which command was stopped.
 */
async function followUntilEnd(options: {
  client: ReleaseCommandsClient;
  runId: string;
  logger: LoggerService;
  taskSignal?: AbortSignal;
}): Promise<RunLogEnd> {
  const { client, runId, logger, taskSignal } = options;
  const following = new AbortController();
  let giveUp: NodeJS.Timeout | undefined;
  let ended = false;
  const cancelRun = () => {
    logger.info(`The task was cancelled: cancelling run ${runId}`);
    client.cancelRun(runId).then(
      () => {
        if (!ended) {
          giveUp = setTimeout(() => following.abort(), CANCEL_WAIT_MS);
        }
      },
      error => {
        const alreadyEnded =
          ResponseError.is(error) && error.statusCode === 409;
        if (!alreadyEnded) {
          logger.warn(`Could not cancel run ${runId}: ${describeError(error)}`);
          following.abort();
        }
      },
    );
  };
  taskSignal?.addEventListener('abort', cancelRun, { once: true });
  if (taskSignal?.aborted) {
    cancelRun();
  }

  const lines = new RunLogLines(line => logger.info(line));
  try {
    return await followRunLog(client, runId, {
      signal: following.signal,
      onChunk: chunk => lines.push(chunk),
      onReconnect: (error, attempt) =>
        logger.warn(
          `The log stream of run ${runId} broke (${describeError(
            error,
          )}); resuming, attempt ${attempt}`,
        ),
    });
  } finally {
    ended = true;
    lines.flush();
    taskSignal?.removeEventListener('abort', cancelRun);
    clearTimeout(giveUp);
  }
}

async function logDryRun(
  logger: LoggerService,
  client: ReleaseCommandsClient,
  entityRef: string,
  image: string,
  waitSeconds: number,
) {
  // No waiting in a dry run: nothing registers the entity there (the
  // scaffolder skips catalog:register). An entity the catalog does not know
  // has no commands.
  const list = await client.getCommands(entityRef).catch(error => {
    if (isNotInCatalog(error)) {
      logger.warn(
        `Dry run: ${entityRef} is not in the catalog yet (or not visible to you); ${
          waitSeconds > 0
            ? `a real run would wait up to ${waitSeconds} s for the catalog to ingest it (registered by an earlier step?) before starting`
            : 'a real run would fail at once (waitForEntitySeconds is 0)'
        }`,
      );
      return { revision: 0, commands: [] };
    }
    throw new Error(
      `Could not read the release commands of ${entityRef}: ${describeError(
        error,
      )}`,
    );
  });
  const enabled = list.commands.filter(c => c.enabled);
  logger.info(
    `Dry run: would run ${plural(
      enabled.length,
      'release command',
    )} of ${entityRef} on ${image}${
      enabled.length === 0 ? ' (a run without commands succeeds at once)' : ''
    }`,
  );
  enabled.forEach((c, i) =>
    logger.info(`[${i + 1}/${enabled.length}] ${c.label}: ${c.command}`),
  );
}
