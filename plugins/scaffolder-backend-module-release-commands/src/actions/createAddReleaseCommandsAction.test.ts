import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { JsonValue } from '@backstage/types';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  anyEntity,
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
  /**
   * Entities the catalog does not have until their condition holds (a
   * registration being ingested); the catalog has every other entity.
   */
  const ingestedWhen = new Map<string, () => boolean>();
  /** How often the backend asked the catalog for each ref. */
  const lookups = new Map<string, number>();

  beforeAll(async () => {
    services = await startReleaseCommands({
      getEntityByRef: async ref => {
        lookups.set(ref, (lookups.get(ref) ?? 0) + 1);
        const ingested = ingestedWhen.get(ref);
        return !ingested || ingested() ? anyEntity(ref) : undefined;
      },
    });
  });
  afterAll(() => services.stop());
  beforeEach(() => {
    entity += 1;
    entityRef = `component:default/service-${entity}`;
  });

  const waitMessage = (ref: string, seconds: number) =>
    `Waiting for the catalog to ingest ${ref} (registered by an earlier step?) for up to ${seconds} s: release commands are kept and run only for entities the catalog knows`;

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
      logger?: ReturnType<typeof mockServices.logger.mock>;
      signal?: AbortSignal;
    } = {},
  ) {
    const action = options.action ?? createAddReleaseCommandsAction(services);
    const logger = options.logger ?? mockServices.logger.mock();
    const checkpoints = options.checkpoints ?? new Map<string, JsonValue>();
    const ctx = {
      ...createMockActionContext({ input: input as any, logger }),
      isDryRun: options.isDryRun,
      signal: options.signal,
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
    const warnings = logger.warn.mock.calls.map(call => call[0] as string);
    return { outputs, log, warnings };
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
    ...[3601, -1, 1.5, '60'].map(value => [
      `a waitForEntitySeconds of ${JSON.stringify(value)}`,
      { preset: 'django', waitForEntitySeconds: value },
      `waitForEntitySeconds must be a whole number of seconds from 0 to 3600 (0: do not wait), got ${JSON.stringify(
        value,
      )}`,
    ]),
  ] as Array<[string, Record<string, unknown>, string | RegExp]>)(
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

  describe('for an entity the catalog does not have yet', () => {
    it('waits until the catalog has ingested it, then adds the commands', async () => {
      const logger = mockServices.logger.mock();
      // Ingested once the action has said it waits: the wait must be what
      // gets the commands in, whatever the timing.
      ingestedWhen.set(entityRef, () =>
        logger.info.mock.calls.some(([message]) =>
          String(message).startsWith(
            `Waiting for the catalog to ingest ${entityRef} `,
          ),
        ),
      );

      const { outputs, log } = await runAction(
        { entityRef, preset: 'django' },
        { logger },
      );

      expect(log.filter(line => line.startsWith('Waiting'))).toEqual([
        waitMessage(entityRef, 300),
      ]);
      expect(log).toContainEqual(
        expect.stringMatching(
          new RegExp(`^${entityRef} is in the catalog now, after \\d+ s$`),
        ),
      );
      expect(outputs.added.map((c: any) => c.label)).toEqual([
        'Migrate database',
      ]);
      expect(await commandsOf(entityRef)).toEqual([
        {
          label: 'Migrate database',
          command: 'python manage.py migrate --noinput',
          source: 'framework',
          timeoutSeconds: null,
        },
      ]);
    });

    it('gives up after waitForEntitySeconds, saying what to check, and writes nothing', async () => {
      ingestedWhen.set(entityRef, () => false);

      const error = await runAction({
        entityRef,
        preset: 'django',
        waitForEntitySeconds: 1,
      }).catch(e => e);

      expect(error.message).toBe(
        `${entityRef} is still not in the catalog (or not visible to you) after waiting 1 s, so no release commands were added. ` +
          'Check that an earlier step registered it (catalog:register) under exactly this kind, namespace and name, ' +
          "that the catalog processed its catalog-info.yaml without errors (the location's processing errors), " +
          'and that the user who started the task may see it; if the catalog is only slow, raise waitForEntitySeconds.',
      );
      expect(lookups.get(entityRef)).toBeGreaterThan(1);
      ingestedWhen.delete(entityRef);
      expect(await services.api.getCommands(entityRef)).toMatchObject({
        revision: 0,
        commands: [],
      });
    });

    it('fails at once with waitForEntitySeconds 0', async () => {
      ingestedWhen.set(entityRef, () => false);
      const logger = mockServices.logger.mock();

      const error = await runAction(
        { entityRef, preset: 'django', waitForEntitySeconds: 0 },
        { logger },
      ).catch(e => e);

      expect(error.message).toBe(
        `${entityRef} is not in the catalog (or not visible to you), so no release commands were added: release commands are kept and run ` +
          'only for entities the catalog knows. Register it in an earlier step (catalog:register), and let this step ' +
          'wait for the catalog to ingest it with waitForEntitySeconds (0 here: no waiting).',
      );
      expect(lookups.get(entityRef)).toBe(1);
      expect(logger.info).not.toHaveBeenCalledWith(
        expect.stringMatching(/^Waiting/),
      );
      ingestedWhen.delete(entityRef);
      expect((await services.api.getCommands(entityRef)).commands).toEqual([]);
    });

    it('stops waiting when the task is cancelled, and writes nothing', async () => {
      ingestedWhen.set(entityRef, () => false);
      const task = new AbortController();
      const logger = mockServices.logger.mock();
      logger.info.mockImplementation(message => {
        if (String(message).startsWith('Waiting')) task.abort();
      });

      const error = await runAction(
        { entityRef, preset: 'django' },
        { logger, signal: task.signal },
      ).catch(e => e);

      expect(error.message).toBe(
        `The task was cancelled while waiting for the catalog to ingest ${entityRef}; no release commands were added`,
      );
      ingestedWhen.delete(entityRef);
      expect((await services.api.getCommands(entityRef)).commands).toEqual([]);
    });

    it('does not wait in a dry run, and reports what it would add to an empty list', async () => {
      ingestedWhen.set(entityRef, () => false);

      const { outputs, log, warnings } = await runAction(
        { entityRef, preset: 'django' },
        { isDryRun: true },
      );

      expect(warnings).toEqual([
        `Dry run: ${entityRef} is not in the catalog yet (or not visible to you); a real run would wait up to 300 s for the catalog to ingest it (registered by an earlier step?), then add to its empty list`,
      ]);
      expect(lookups.get(entityRef)).toBe(1);
      expect(log).toContain(
        'Dry run: would add "Migrate database" (framework): python manage.py migrate --noinput',
      );
      expect(outputs).toEqual({
        commands: [
          {
            label: 'Migrate database',
            command: 'python manage.py migrate --noinput',
            source: 'framework',
            enabled: true,
            timeoutSeconds: null,
          },
        ],
        added: [
          {
            label: 'Migrate database',
            command: 'python manage.py migrate --noinput',
            source: 'framework',
          },
        ],
        revision: 0,
      });
    });
  });
});
