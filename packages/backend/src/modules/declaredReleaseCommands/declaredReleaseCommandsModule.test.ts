import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import releaseCommandsPlugin from '@release-commands/backstage-plugin-release-commands-backend';
import { ReleaseCommandList } from '@release-commands/backstage-plugin-release-commands-common';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { declaredReleaseCommandsModule } from './declaredReleaseCommandsModule';

// Two backends start and stop in some tests, beside suites that keep the machine busy.
jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
type Knex = Awaited<ReturnType<typeof databases.init>>;
type Declaration = { entity: string; file: string };
const SHOP = 'component:default/demo-shop';
const COMMANDS_PATH =
  '/api/release-commands/entities/component/default/demo-shop/commands';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'declared-commands-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const DECLARED = `
commands:
  - label: Migrate database
    command: ./manage.sh migrate
  - label: Fix tree
    command: ./manage.sh fix-tree
    timeoutSeconds: 300
`;

type LoggerMock = ReturnType<typeof mockServices.logger.mock>;

/** The entity whose commands are declared, as the portal's catalog has it. */
const DEMO_SHOP_ENTITY = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'demo-shop', namespace: 'default', uid: 'demo-shop-uid' },
  spec: {
    type: 'service',
    lifecycle: 'production',
    owner: 'group:default/shop',
  },
};

/**
 * The portal's release-commands plugin with the module, on `knex`, with the
 * module's settings; `logger` receives the plugin's and the module's lines.
 */
async function startPortalBackend(options: {
  knex: Knex;
  declared?: Declaration[];
  logger: LoggerMock;
}) {
  const backend = await startTestBackend({
    features: [
      releaseCommandsPlugin,
      catalogServiceMock.factory({ entities: [DEMO_SHOP_ENTITY] }),
      declaredReleaseCommandsModule,
      mockServices.database.factory({ knex: options.knex }),
      options.logger.factory,
      mockServices.rootConfig.factory({
        data: {
          // Editing needs no engine; point at none so its check answers at once.
          releaseCommands: {
            docker: { host: 'unix:///nonexistent/docker.sock' },
          },
          ...(options.declared
            ? { declaredReleaseCommands: options.declared }
            : {}),
        },
      }),
    ],
  });
  const user = mockCredentials.user.header('user:default/ada');
  return {
    stop: () => backend.stop(),
    health: () => request(backend.server).get('/api/release-commands/health'),
    commands: async (): Promise<ReleaseCommandList> =>
      (
        await request(backend.server)
          .get(COMMANDS_PATH)
          .set('Authorization', user)
          .expect(200)
      ).body,
    deleteCommand: (id: string) =>
      request(backend.server)
        .delete(`${COMMANDS_PATH}/${id}`)
        .set('Authorization', user)
        .expect(200),
  };
}

function newLogger(): LoggerMock {
  const logger = mockServices.logger.mock();
  logger.child.mockImplementation(() => logger);
  return logger;
}

/** The module's lines (it names the declared file in each). */
const linesAbout = (logger: LoggerMock, level: 'info' | 'warn', text: string) =>
  logger[level].mock.calls
    .map(([message]) => String(message))
    .filter(message => message.includes(text));

/** Waits until the module has logged its line about `text` (it works after start-up). */
async function moduleLine(
  logger: LoggerMock,
  text: string,
): Promise<{ level: 'info' | 'warn'; message: string }> {
  const until = Date.now() + 20_000;
  for (;;) {
    for (const level of ['info', 'warn'] as const) {
      const [message] = linesAbout(logger, level, text);
      if (message) return { level, message };
    }
    if (Date.now() > until) {
      throw new Error(`The module logged nothing about ${text} in 20 s`);
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

describe('declaredReleaseCommandsModule', () => {
  it('adds the declared commands, with source api, to a list that was never written', async () => {
    const knex = await databases.init('SQLITE_3');
    const file = writeFile('release-commands.yaml', DECLARED);
    const logger = newLogger();
    const backend = await startPortalBackend({
      knex,
      logger,
      declared: [{ entity: SHOP, file }],
    });

    expect(await moduleLine(logger, file)).toEqual({
      level: 'info',
      message: `Added 2 release commands declared in ${file} to ${SHOP} (revision 2); its Release commands tab is where they change`,
    });
    const list = await backend.commands();
    expect(list.revision).toBe(2);
    expect(
      list.commands.map(({ label, command, source, timeoutSeconds }) => ({
        label,
        command,
        source,
        timeoutSeconds,
      })),
    ).toEqual([
      {
        label: 'Migrate database',
        command: './manage.sh migrate',
        source: 'api',
        timeoutSeconds: null,
      },
      {
        label: 'Fix tree',
        command: './manage.sh fix-tree',
        source: 'api',
        timeoutSeconds: 300,
      },
    ]);
    await backend.stop();
  });

  it('adds nothing at the next start once the list was written, so a deletion stays deleted', async () => {
    const knex = await databases.init('SQLITE_3');
    const file = writeFile('release-commands.yaml', DECLARED);
    const declared = [{ entity: SHOP, file }];

    const firstLogger = newLogger();
    const first = await startPortalBackend({
      knex,
      logger: firstLogger,
      declared,
    });
    await moduleLine(firstLogger, file);
    const seeded = await first.commands();
    // A person deletes one in the tab.
    await first.deleteCommand(seeded.commands[1].id);
    await first.stop();

    const secondLogger = newLogger();
    const second = await startPortalBackend({
      knex,
      logger: secondLogger,
      declared,
    });
    expect(await moduleLine(secondLogger, file)).toEqual({
      level: 'info',
      message: `The release commands of ${SHOP} were written before (revision 3), so the ones declared in ${file} are not added again`,
    });
    const after = await second.commands();
    expect(after.revision).toBe(3);
    expect(after.commands.map(c => c.command)).toEqual(['./manage.sh migrate']);
    await second.stop();
  });

  it.each([
    ['a missing file', undefined, 'the file does not exist'],
    [
      'a file that is not YAML',
      'commands:\n  - label: Migrate\n    command: [unclosed\n',
      'the file is not valid YAML: Flow sequence in block collection',
    ],
    [
      'a file without a commands list',
      'command: ./manage.sh migrate\n',
      'commands is required: the list of release commands; unknown field "command"',
    ],
    ['an empty file', '', 'must be a YAML mapping with a "commands" list'],
    [
      'an entry without a label',
      'commands:\n  - command: ./manage.sh migrate\n',
      'commands.0.label',
    ],
    [
      'an empty command',
      'commands:\n  - label: Migrate\n    command: ./manage.sh migrate\n  - label: Fix\n    command: ""\n',
      'commands.1.command must not be empty',
    ],
    [
      'a source of its own',
      'commands:\n  - label: Migrate\n    command: ./manage.sh migrate\n    source: user\n',
      'commands.0: unknown field "source"',
    ],
    [
      'a timeout of zero',
      'commands:\n  - label: Migrate\n    command: ./manage.sh migrate\n    timeoutSeconds: 0\n',
      'commands.0.timeoutSeconds must be at least 1 second',
    ],
    [
      'a command listed twice',
      'commands:\n  - label: Migrate\n    command: ./manage.sh migrate\n  - label: Again\n    command: ./manage.sh migrate\n',
      'commands.1.command repeats commands.0.command',
    ],
  ])(
    'refuses %s with one warning naming the file and the field, writes nothing, and the backend runs on',
    async (_name, text, expected) => {
      const knex = await databases.init('SQLITE_3');
      const file =
        text === undefined
          ? path.join(dir, 'missing.yaml')
          : writeFile('release-commands.yaml', text);
      const logger = newLogger();
      const backend = await startPortalBackend({
        knex,
        logger,
        declared: [{ entity: SHOP, file }],
      });

      const line = await moduleLine(logger, file);
      expect(line.level).toBe('warn');
      expect(line.message).toContain(
        `Could not add the release commands declared in ${file} to ${SHOP}: ${expected}`,
      );
      expect(line.message).not.toContain('\n');
      expect(linesAbout(logger, 'warn', file)).toHaveLength(1);
      await backend.health().expect(200);
      expect(await backend.commands()).toMatchObject({
        revision: 0,
        commands: [],
      });
      await backend.stop();
    },
  );

  it('refuses an entity that is not an entity ref with a warning, and starts', async () => {
    const knex = await databases.init('SQLITE_3');
    const file = writeFile('release-commands.yaml', DECLARED);
    const logger = newLogger();
    const backend = await startPortalBackend({
      knex,
      logger,
      declared: [{ entity: 'demo-shop', file }],
    });

    const warnings = linesAbout(logger, 'warn', 'declaredReleaseCommands');
    expect(warnings).toEqual([
      'No declared release commands are added: declaredReleaseCommands[0].entity must be an entity ref of the form kind:namespace/name, got "demo-shop"',
    ]);
    await backend.health().expect(200);
    expect((await backend.commands()).revision).toBe(0);
    await backend.stop();
  });

  it('does nothing without declaredReleaseCommands', async () => {
    const knex = await databases.init('SQLITE_3');
    const logger = newLogger();
    const backend = await startPortalBackend({ knex, logger });

    await backend.health().expect(200);
    expect((await backend.commands()).revision).toBe(0);
    expect(linesAbout(logger, 'warn', 'declared')).toEqual([]);
    await backend.stop();
  });
});
