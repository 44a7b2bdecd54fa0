import {
  LoggerService,
  RootConfigService,
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  ReleaseCommandsClient,
  describeZodError,
  entityRefSchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import { createReleaseCommandsServiceClient } from '@release-commands/backstage-plugin-release-commands-node';
import path from 'node:path';
import { readDeclaredCommands } from './readDeclaredCommands';
import { seedDeclaredCommands } from './seedDeclaredCommands';

const CONFIG_KEY = 'declaredReleaseCommands';

/** One `declaredReleaseCommands` entry, with its file resolved. */
type Declaration = { entityRef: string; file: string };

/**
 * The demo portal's: at start-up, adds the release commands that files
 * declare (`declaredReleaseCommands` in app-config.yaml) to entities whose
 * list has never been written, through the plugin's own API. It works in the
 * background once the backend has started, and a failure is a warning in the
 * log, never a failed start.
 */
export const declaredReleaseCommandsModule = createBackendModule({
  pluginId: 'release-commands',
  moduleId: 'declared-commands',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
        rootLifecycle: coreServices.rootLifecycle,
      },
      async init({ config, logger, auth, discovery, rootLifecycle }) {
        let declarations: Declaration[];
        try {
          declarations = readDeclarations(config);
        } catch (error) {
          logger.warn(
            `No declared release commands are added: ${
              (error as Error).message
            }`,
          );
          return;
        }
        if (declarations.length === 0) return;

        const client = createReleaseCommandsServiceClient({ discovery, auth });
        const stopping = new AbortController();
        let seeding: Promise<void> | undefined;
        // After every plugin has started, so the API is there to call; not
        // awaited, so the backend's start never waits on it.
        rootLifecycle.addStartupHook(() => {
          seeding = seedAll(declarations, {
            client,
            logger,
            signal: stopping.signal,
          });
        });
        rootLifecycle.addShutdownHook(async () => {
          stopping.abort();
          await seeding;
        });
      },
    });
  },
});

function readDeclarations(config: RootConfigService): Declaration[] {
  return (config.getOptionalConfigArray(CONFIG_KEY) ?? []).map(
    (entry, index) => {
      const entity = entry.getString('entity');
      const parsed = entityRefSchema.safeParse(entity);
      if (!parsed.success) {
        throw new InputError(
          `${CONFIG_KEY}[${index}].entity ${describeZodError(parsed.error)}`,
        );
      }
      return {
        entityRef: parsed.data,
        file: path.resolve(entry.getString('file')),
      };
    },
  );
}

async function seedAll(
  declarations: Declaration[],
  options: {
    client: ReleaseCommandsClient;
    logger: LoggerService;
    signal: AbortSignal;
  },
): Promise<void> {
  const { logger, signal } = options;
  for (const { entityRef, file } of declarations) {
    try {
      const commands = await readDeclaredCommands(file);
      const result = await seedDeclaredCommands({
        client: options.client,
        entityRef,
        commands,
        signal,
      });
      if (result.outcome === 'added') {
        logger.info(
          `Added ${result.added} release commands declared in ${file} to ${entityRef} (revision ${result.revision}); its Release commands tab is where they change`,
        );
      } else {
        logger.info(
          `The release commands of ${entityRef} were written before (revision ${result.revision}), so the ones declared in ${file} are not added again`,
        );
      }
    } catch (error) {
      if (signal.aborted) return;
      logger.warn(
        `Could not add the release commands declared in ${file} to ${entityRef}: ${oneLine(
          error,
        )}`,
      );
    }
  }
}

/** An error's message on one line (a YAML error comes with a code frame). */
function oneLine(error: unknown): string {
  return String((error as Error).message ?? error)
    .split('\n')[0]
    .trim();
}
