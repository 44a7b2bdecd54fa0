import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  describeError,
  entityRefSchema,
  plural,
  ReleaseCommand,
  releaseCommandPresetIds,
  ReleaseCommandsClient,
} from '@release-commands/backstage-plugin-release-commands-common';
import { createReleaseCommandsServiceClient } from '@release-commands/backstage-plugin-release-commands-node';
import { createHash } from 'node:crypto';
import { addReleaseCommandsExamples } from './createAddReleaseCommandsAction.examples';
import { parseActionInput } from './parseActionInput';
import {
  missingCommands,
  RequestedCommand,
  requestedCommands,
} from './planCommands';
import {
  isNotInCatalog,
  parseWaitForEntitySeconds,
  MAX_WAIT_FOR_ENTITY_SECONDS,
  untilEntityKnown,
  waitForEntitySecondsDescription,
} from './waitForEntity';

type AddedCommand = Pick<ReleaseCommand, 'id' | 'label' | 'command' | 'source'>;

/**
 * `release-commands:add`: presets an entity's release commands from a
 * software template, with the framework's defaults and the template's own.
 *
 * @public
 */
export function createAddReleaseCommandsAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
}) {
  return createTemplateAction({
    id: 'release-commands:add',
    description:
      "Adds release commands to an entity: a framework preset's defaults (source framework) and the template's own " +
      '(source template), after the commands it already has. Commands whose text the entity already has are left ' +
      'alone, so running the step again, or retrying or recovering the task, never adds a command twice. ' +
      'The entity must be in the catalog; when it is not there yet (a template that registers it just before), the ' +
      'step waits for the catalog to ingest it, up to waitForEntitySeconds. A dry run reports what would be added ' +
      'and writes nothing; it does not wait, and reports an entity not in the catalog yet as one without commands.',
    examples: addReleaseCommandsExamples,
    supportsDryRun: true,
    schema: {
      input: {
        entityRef: z =>
          z
            .string()
            .describe(
              'The entity whose commands to add to, as kind:namespace/name, e.g. component:default/shop',
            ),
        preset: z =>
          z
            .enum(releaseCommandPresetIds as [string, ...string[]])
            .optional()
            .describe(
              `A framework's default commands: ${releaseCommandPresetIds.join(
                ', ',
              )}`,
            ),
        commands: z =>
          z
            .array(
              z.object({
                label: z
                  .string()
                  .describe('What the command does, e.g. Migrate database'),
                command: z
                  .string()
                  .describe(
                    'Runs as /bin/sh -c <command> in a container of the deployed image; a JSON array runs without a shell',
                  ),
                timeoutSeconds: z
                  .number()
                  .int()
                  .optional()
                  .describe('Defaults to the configured timeout (30 minutes)'),
              }),
            )
            .optional()
            .describe('Commands of the template, run after the preset'),
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
        commands: z =>
          z
            .array(
              z.object({
                id: z.string().optional(),
                label: z.string(),
                command: z.string(),
                source: z.string(),
                enabled: z.boolean(),
                timeoutSeconds: z.number().nullable(),
              }),
            )
            .describe(
              "The entity's release commands in run order after the step (in a dry run: as they would be)",
            ),
        added: z =>
          z
            .array(
              z.object({
                id: z.string().optional(),
                label: z.string(),
                command: z.string(),
                source: z.string(),
              }),
            )
            .describe('The commands this step added (in a dry run: would add)'),
        revision: z =>
          z.number().describe("The revision of the entity's command list"),
      },
    },
    async handler(ctx) {
      const entityRef = parseActionInput(
        entityRefSchema,
        ctx.input.entityRef,
        'entityRef',
      );
      const requested = requestedCommands(ctx.input);
      const waitSeconds = parseWaitForEntitySeconds(
        ctx.input.waitForEntitySeconds,
      );
      const client = createReleaseCommandsServiceClient({
        ...options,
        onBehalfOf: () => ctx.getInitiatorCredentials(),
      });

      if (ctx.isDryRun) {
        // No waiting: nothing registers the entity in a dry run (the
        // scaffolder skips catalog:register there), so a new component
        // would hold the editor for the whole wait and then fail.
        // An entity the catalog does not know has no commands, so the plan
        // against an empty list is what a real run would add.
        const list = await client.getCommands(entityRef).catch(error => {
          if (isNotInCatalog(error)) {
            ctx.logger.warn(
              `Dry run: ${entityRef} is not in the catalog yet (or not visible to you); ${
                waitSeconds > 0
                  ? `a real run would wait up to ${waitSeconds} s for the catalog to ingest it (registered by an earlier step?), then add to its empty list`
                  : 'a real run would fail at once (waitForEntitySeconds is 0)'
              }`,
            );
            return { revision: 0, commands: [] as ReleaseCommand[] };
          }
          throw readError(entityRef, error);
        });
        const missing = missingCommands(entityRef, list.commands, requested);
        logPlan(
          ctx.logger,
          entityRef,
          requested,
          missing,
          'Dry run: would add',
        );
        ctx.output('commands', [
          ...list.commands.map(toOutputCommand),
          ...missing.map(c => ({
            label: c.label,
            command: c.command,
            source: c.source,
            enabled: true,
            timeoutSeconds: c.timeoutSeconds ?? null,
          })),
        ]);
        ctx.output(
          'added',
          missing.map(({ label, command, source }) => ({
            label,
            command,
            source,
          })),
        );
        ctx.output('revision', list.revision);
        return;
      }

      // The checkpoint keeps a recovered task from adding back a command that
      // an owner deleted after the first attempt added it.
      const added = await ctx.checkpoint({
        key: `add:${entityRef}:${fingerprint(requested)}`,
        fn: async (): Promise<AddedCommand[]> => {
          // The first request waits for the entity; nothing has been
          // written until it answers.
          const list = await untilEntityKnown({
            entityRef,
            waitSeconds,
            logger: ctx.logger,
            signal: ctx.signal,
            notDone: 'no release commands were added',
            request: () => client.getCommands(entityRef),
            otherError: error => readError(entityRef, error),
          });
          const missing = missingCommands(entityRef, list.commands, requested);
          logPlan(ctx.logger, entityRef, requested, missing, 'Adding');
          const result: AddedCommand[] = [];
          for (const command of missing) {
            const appended = await client
              .appendCommand(entityRef, command)
              .catch(error => {
                throw new Error(
                  `Could not add "${
                    command.label
                  }" to ${entityRef}: ${describeError(error)}`,
                );
              });
            const { id, label, source } = appended.command;
            result.push({
              id,
              label,
              command: appended.command.command,
              source,
            });
          }
          return result;
        },
      });

      const after = await readCommands(client, entityRef);
      ctx.logger.info(
        `${entityRef} has ${plural(
          after.commands.length,
          'release command',
        )} (revision ${after.revision})`,
      );
      // Array.from, not map: map would keep the array's realm (that of
      // fetch), and the template engine only accepts arrays of its own.
      ctx.output('commands', Array.from(after.commands, toOutputCommand));
      ctx.output('added', added);
      ctx.output('revision', after.revision);
    },
  });
}

async function readCommands(client: ReleaseCommandsClient, entityRef: string) {
  return client.getCommands(entityRef).catch(error => {
    throw readError(entityRef, error);
  });
}

function readError(entityRef: string, error: unknown): Error {
  return new Error(
    `Could not read the release commands of ${entityRef}: ${describeError(
      error,
    )}`,
  );
}

function logPlan(
  logger: { info(message: string): void },
  entityRef: string,
  requested: RequestedCommand[],
  missing: RequestedCommand[],
  verb: string,
) {
  for (const command of requested) {
    const what = `"${command.label}" (${command.source}): ${command.command}`;
    logger.info(
      missing.includes(command)
        ? `${verb} ${what}`
        : `Already there, left alone: ${what}`,
    );
  }
  if (missing.length === 0) {
    logger.info(`${entityRef} already has every requested command`);
  }
}

function toOutputCommand(command: ReleaseCommand) {
  const { id, label, source, enabled, timeoutSeconds } = command;
  return {
    id,
    label,
    command: command.command,
    source,
    enabled,
    timeoutSeconds,
  };
}

/** Tells apart two steps of one task (e.g. under `each`) that add different things. */
function fingerprint(requested: RequestedCommand[]): string {
  return createHash('sha256')
    .update(JSON.stringify(requested))
    .digest('hex')
    .slice(0, 16);
}
