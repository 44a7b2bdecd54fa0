import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { JsonValue } from '@backstage/types';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  startReleaseCommands,
  TEMPLATE_USER,
} from '../__testUtils__/startReleaseCommands';
import { createAddReleaseCommandsAction } from './createAddReleaseCommandsAction';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(60_000);

type Services = Awaited<ReturnType<typeof startReleaseCommands>>;

describe('release-commands:add', () => {
  let services: Services;
  let entity = 0;
  let entityRef: string;

  beforeAll(async () => {
    services = await startReleaseCommands();
  });
  afterAll(() => services.stop());
  beforeEach(() => {
    entity += 1;
    entityRef = `component:default/service-${entity}`;
  });

  /**
   * Runs the action as a task step would: with the template user as
   * initiator (unless told otherwise) and, when given, a checkpoint store
   * that outlives one attempt (what a recovered task has).
   */
  async function runAction(
    input: Record<string, unknown>,
    options: {
      isDryRun?: boolean;
      checkpoints?: Map<string, JsonValue>;
      action?: ReturnType<typeof createAddReleaseCommandsAction>;
      initiator?: BackstageCredentials;
    } = {},
  ) {
    const action = options.action ?? createAddReleaseCommandsAction(services);
    const logger = mockServices.logger.mock();
    const checkpoints = options.checkpoints ?? new Map<string, JsonValue>();
    const ctx = {
      ...createMockActionContext({ input: input as any, logger }),
      isDryRun: options.isDryRun,
      getInitiatorCredentials: async () =>
        options.initiator ?? mockCredentials.user(TEMPLATE_USER),
      async checkpoint<T>(opts: { key: string; fn: () => Promise<T> | T }) {
        if (!checkpoints.has(opts.key)) {
          checkpoints.set(opts.key, (await opts.fn()) as JsonValue);
        }
        return checkpoints.get(opts.key) as T;
      },
    };
    await action.handler(ctx as any);
    const outputs = Object.fromEntries(
      (ctx.output as jest.Mock).mock.calls,
    ) as Record<string, any>;
    const log = logger.info.mock.calls.map(call => call[0] as string);
    return { outputs, log };
  }

  const commandsOf = async (ref: string) =>
    (await services.api.getCommands(ref)).commands.map(c => ({
      label: c.label,
      command: c.command,
      source: c.source,
      timeoutSeconds: c.timeoutSeconds,
    }));

  it('adds a preset with source framework and outputs the resulting list', async () => {
    const { outputs, log } = await runAction({
      entityRef,
      preset: 'django-cms',
    });

    expect(await commandsOf(entityRef)).toEqual([
      {
        label: 'Migrate database',
        command: 'python manage.py migrate --noinput',
        source: 'framework',
        timeoutSeconds: null,
      },
      {
        label: 'Fix page tree',
        command: 'python manage.py cms fix-tree',
        source: 'framework',
        timeoutSeconds: null,
      },
    ]);
    expect(outputs.commands).toEqual([
      expect.objectContaining({
        id: expect.any(String),
        label: 'Migrate database',
        source: 'framework',
        enabled: true,
      }),
      expect.objectContaining({ label: 'Fix page tree' }),
    ]);
    expect(outputs.added.map((c: any) => c.label)).toEqual([
      'Migrate database',
      'Fix page tree',
    ]);
    expect(outputs.revision).toBe(2);
    expect(log).toContain(
      'Adding "Migrate database" (framework): python manage.py migrate --noinput',
    );
    const list = await services.api.getCommands(entityRef);
    expect(list.commands[0].createdBy).toBe(TEMPLATE_USER);
  });

  it('adds extra commands after the preset with source template, keeping their timeouts', async () => {
    await runAction({
      entityRef,
      preset: 'rails',
      commands: [
        { label: 'Warm cache', command: 'bin/rails cache:warm && echo ok' },
        {
          label: 'Reindex',
          command: 'bin/rails search:reindex',
          timeoutSeconds: 3600,
        },
      ],
    });
    expect(await commandsOf(entityRef)).toEqual([
      {
        label: 'Migrate database',
        command: 'bin/rails db:migrate',
        source: 'framework',
        timeoutSeconds: null,
      },
      {
        label: 'Warm cache',
        command: 'bin/rails cache:warm && echo ok',
        source: 'template',
        timeoutSeconds: null,
      },
      {
        label: 'Reindex',
        command: 'bin/rails search:reindex',
        source: 'template',
        timeoutSeconds: 3600,
      },
    ]);
  });

  it('adds nothing on a second call, and leaves alone a command the owner already has', async () => {
    await services.api.appendCommand(entityRef, {
      label: 'Our own migrate',
      command: 'python manage.py migrate --noinput',
      source: 'user',
    });
    const input = {
      entityRef,
      preset: 'django',
      commands: [
        { label: 'Check', command: 'python manage.py check --deploy' },
      ],
    };

    const first = await runAction(input);
    expect(first.outputs.added.map((c: any) => c.label)).toEqual(['Check']);
    expect(first.log).toContain(
      'Already there, left alone: "Migrate database" (framework): python manage.py migrate --noinput',
    );
    const afterFirst = await services.api.getCommands(entityRef);

    const second = await runAction(input);
    expect(second.outputs.added).toEqual([]);
    expect(second.log).toContain(
      `${entityRef} already has every requested command`,
    );
    const afterSecond = await services.api.getCommands(entityRef);
    expect(afterSecond).toEqual(afterFirst);
    expect(afterSecond.commands.map(c => [c.label, c.source])).toEqual([
      ['Our own migrate', 'user'],
      ['Check', 'template'],
    ]);
  });

  it('does not add back, when the task is recovered, a command the owner deleted meanwhile', async () => {
    const checkpoints = new Map<string, JsonValue>();
    const input = { entityRef, preset: 'laravel' };
    await runAction(input, { checkpoints });
    const [added] = (await services.api.getCommands(entityRef)).commands;
    await services.api.deleteCommand(entityRef, added.id);

    const recovered = await runAction(input, { checkpoints });

    expect((await services.api.getCommands(entityRef)).commands).toEqual([]);
    expect(recovered.outputs.added).toEqual([
      expect.objectContaining({ id: added.id, label: 'Migrate database' }),
    ]);
    expect(recovered.outputs.commands).toEqual([]);
  });

  it('reports in a dry run what it would add, and writes nothing', async () => {
    await services.api.appendCommand(entityRef, {
      label: 'Typed by hand',
      command: 'echo hello',
      source: 'user',
    });
    const before = await services.api.getCommands(entityRef);

    const { outputs, log } = await runAction(
      {
        entityRef,
        preset: 'alembic',
        commands: [{ label: 'Hello', command: 'echo hello' }],
      },
      { isDryRun: true },
    );

    expect(await services.api.getCommands(entityRef)).toEqual(before);
    expect(log).toContain(
      'Dry run: would add "Upgrade database" (framework): alembic upgrade head',
    );
    expect(log).toContain(
      'Already there, left alone: "Hello" (template): echo hello',
    );
    expect(outputs.added).toEqual([
      {
        label: 'Upgrade database',
        command: 'alembic upgrade head',
        source: 'framework',
      },
    ]);
    expect(
      outputs.commands.map((c: any) => [c.label, c.id !== undefined]),
    ).toEqual([
      ['Typed by hand', true],
      ['Upgrade database', false],
    ]);
    expect(outputs.revision).toBe(before.revision);
  });

  it.each([
    [
      'an unknown preset',
      { preset: 'struts' },
      /^preset must be one of django, django-cms, rails, laravel, prisma, alembic, .*, got "struts"$/,
    ],
    [
      'a malformed entity ref',
      { entityRef: 'my-service', preset: 'django' },
      'entityRef must be an entity ref of the form kind:namespace/name, got "my-service"',
    ],
    [
      'a bad extra command after a good preset',
      {
        preset: 'django',
        commands: [
          { label: 'Fine', command: 'echo fine' },
          { label: '  ', command: 'echo unlabelled' },
        ],
      },
      'commands.1.label must not be empty',
    ],
    [
      'a command with a line break',
      { commands: [{ label: 'Two lines', command: 'echo a\necho b' }] },
      'commands.0.command must not contain control characters other than tab (use && or ; to chain commands)',
    ],
    [
      'a timeout that is not whole seconds',
      { commands: [{ label: 'T', command: 'true', timeoutSeconds: 1.5 }] },
      'commands.0.timeoutSeconds must be a whole number of seconds',
    ],
    [
      'an unknown field in a command',
      { commands: [{ label: 'T', command: 'true', enabled: false }] },
      'commands.0: unknown field "enabled" (expected label, command, timeoutSeconds)',
    ],
    ['nothing to add', {}, 'Nothing to add: give a preset, commands, or both'],
  ])(
    'refuses %s with a clear message and writes nothing',
    async (_, input, message) => {
      const error = await runAction({ entityRef, ...input }).catch(e => e);

      expect(error.name).toBe('InputError');
      expect(error.message).toMatch(message);
      const list = await services.api.getCommands(entityRef);
      expect(list).toMatchObject({ revision: 0, commands: [] });
    },
  );

  it("fails with the API's refusal when the initiator may not read or edit the entity", async () => {
    const denied = await startReleaseCommands({
      permission: AuthorizeResult.DENY,
    });
    try {
      const error = await runAction(
        { entityRef, preset: 'django' },
        { action: createAddReleaseCommandsAction(denied) },
      ).catch(e => e);
      expect(error.message).toBe(
        `Could not read the release commands of ${entityRef}: Not allowed: release-commands.commands.read on ${entityRef}`,
      );
    } finally {
      await denied.stop();
    }
  });

  it.each([
    ['a task step', false],
    ['a dry run', true],
  ])(
    'fails in %s, writing nothing, when the task has no initiator',
    async (_, isDryRun) => {
      await services.api.appendCommand(entityRef, {
        label: 'Typed by hand',
        command: 'echo hello',
        source: 'user',
      });
      const before = await services.api.getCommands(entityRef);

      const error = await runAction(
        { entityRef, preset: 'prisma' },
        { isDryRun, initiator: mockCredentials.none() },
      ).catch(e => e);

      expect(error.message).toBe(
        `Could not read the release commands of ${entityRef}: No user to act for: release commands are called only on behalf of the user who started this, never with the calling plugin's own credentials`,
      );
      expect(await services.api.getCommands(entityRef)).toEqual(before);
    },
  );
});
