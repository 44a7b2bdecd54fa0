import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { buildBusyboxImage, requireDocker } from '@release-commands/test-utils';
import {
  anyEntity,
  startReleaseCommands,
  TEMPLATE_USER,
} from '../__testUtils__/startReleaseCommands';
import { createRunReleaseCommandsAction } from './createRunReleaseCommandsAction';

// Containers, and a scaffolder task worker that polls.
jest.setTimeout(60_000);

type Services = Awaited<ReturnType<typeof startReleaseCommands>>;

/** The action on a real engine, as a deploy template's step runs it. */
describe('release-commands:run', () => {
  let services: Services;
  let image: string;
  let entity = 0;
  let entityRef: string;
  let pagePath: string;
  /**
   * Entities the catalog does not have until their condition holds (a
   * registration being ingested); the catalog has every other entity.
   */
  const ingestedWhen = new Map<string, () => boolean>();
  /** How often the backend asked the catalog for each ref. */
  const lookups = new Map<string, number>();

  beforeAll(async () => {
    image = await buildBusyboxImage(await requireDocker());
    services = await startReleaseCommands({
      releaseCommands: {
        images: { allow: [{ repositoryPrefix: 'release-commands-test/' }] },
        docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
      },
      getEntityByRef: async ref => {
        lookups.set(ref, (lookups.get(ref) ?? 0) + 1);
        const ingested = ingestedWhen.get(ref);
        return !ingested || ingested() ? anyEntity(ref) : undefined;
      },
    });
  });
  afterAll(() => services?.stop());
  beforeEach(() => {
    entity += 1;
    entityRef = `component:default/deployed-${entity}`;
    pagePath = `http://localhost:3000/catalog/default/component/deployed-${entity}/release-commands`;
  });

  async function setCommands(
    ...commands: Array<{ label: string; command: string }>
  ) {
    await services.api.replaceCommands(entityRef, { revision: 0, commands });
  }

  function startAction(
    input: Record<string, unknown>,
    options: {
      isDryRun?: boolean;
      signal?: AbortSignal;
      initiator?: BackstageCredentials;
      logger?: ReturnType<typeof mockServices.logger.mock>;
    } = {},
  ) {
    const action = createRunReleaseCommandsAction({
      ...services,
      config: mockServices.rootConfig({
        data: { app: { baseUrl: 'http://localhost:3000' } },
      }),
    });
    const {
      initiator = mockCredentials.user(TEMPLATE_USER),
      logger = mockServices.logger.mock(),
      ...rest
    } = options;
    const ctx = {
      ...createMockActionContext({ input: input as any, logger }),
      ...rest,
      getInitiatorCredentials: async () => initiator,
    };
    const done = action.handler(ctx as any);
    return {
      done,
      log: () => logger.info.mock.calls.map(call => call[0] as string),
      warnings: () => logger.warn.mock.calls.map(call => call[0] as string),
      outputs: () =>
        Object.fromEntries((ctx.output as jest.Mock).mock.calls) as Record<
          string,
          any
        >,
    };
  }

  it('runs the commands, streams their output into the task log and outputs the run', async () => {
    await setCommands(
      { label: 'Migrate', command: 'echo "Applying 0001_initial... OK"' },
      {
        label: 'Greet',
        command: 'printf "hello\\nfrom $WHO" && echo " ($GREETING)"',
      },
    );

    const step = startAction({
      entityRef,
      image,
      environment: 'staging',
      env: { WHO: 'the release phase', GREETING: 'secret-greeting' },
    });
    await step.done;

    const outputs = step.outputs();
    expect(outputs).toEqual({
      runId: expect.any(String),
      runUrl: `${pagePath}?run=${outputs.runId}`,
      status: 'succeeded',
    });
    const log = step.log();
    expect(log).toEqual(
      expect.arrayContaining([
        `Run ${outputs.runId} of ${entityRef} on ${image}: ${outputs.runUrl}`,
        '===== docker release commands =====',
        '[1/2] Migrate: echo "Applying 0001_initial... OK"',
        'Applying 0001_initial... OK',
        'hello',
        'from *** (***)',
        `Release commands of ${entityRef} passed`,
      ]),
    );
    expect(log.some(line => /^\[2\/2\] Greet passed \(exit 0/.test(line))).toBe(
      true,
    );
    const run = await services.api.getRun(outputs.runId);
    expect(run).toMatchObject({
      status: 'succeeded',
      environment: 'staging',
      trigger: 'template',
      triggeredBy: TEMPLATE_USER,
      envKeys: ['GREETING', 'WHO'],
    });
  });

  it('fails the step when a command fails, with the reason and a link to the run', async () => {
    await setCommands(
      { label: 'Migrate', command: 'echo migrated' },
      {
        label: 'Security checks',
        command: 'echo "HTTPS is not enforced" >&2; exit 3',
      },
      { label: 'Never', command: 'echo never' },
    );

    const step = startAction({ entityRef, image });
    const error = await step.done.catch(e => e);

    const { runId } = step.outputs();
    expect(error.message).toBe(
      `Release commands of ${entityRef} failed: "Security checks" exited with code 3. See ${pagePath}?run=${runId}`,
    );
    expect(step.log()).toEqual(
      expect.arrayContaining([
        'migrated',
        'HTTPS is not enforced',
        '[3/3] Never skipped',
        'Release commands failed: "Security checks" exited with code 3. The deployment must not proceed.',
      ]),
    );
    expect(step.log()).not.toContain('never');
    expect(step.outputs().status).toBe('failed');
  });

  it('cancels the run when the task is cancelled, and follows it until it has stopped', async () => {
    await setCommands({
      label: 'Long migration',
      command: 'echo started; sleep 60',
    });
    const task = new AbortController();

    const step = startAction({ entityRef, image }, { signal: task.signal });
    await waitFor(() => step.log().includes('started'));
    const startedAt = Date.now();
    task.abort();
    const error = await step.done.catch(e => e);

    const { runId } = step.outputs();
    expect(error.message).toMatch(
      new RegExp(
        `^Release commands of ${entityRef} were cancelled: Cancelled by ${TEMPLATE_USER} while "Long migration" was running\\. See ${pagePath}\\?run=${runId}$`,
      ),
    );
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(step.log()).toContain(
      `The task was cancelled: cancelling run ${runId}`,
    );
    const run = await services.api.getRun(runId);
    expect(run).toMatchObject({
      status: 'cancelled',
      cancelRequestedBy: TEMPLATE_USER,
    });
  });

  it('lists in a dry run what would run, and starts nothing', async () => {
    await setCommands({ label: 'Migrate', command: 'echo migrated' });

    const step = startAction({ entityRef, image }, { isDryRun: true });
    await step.done;

    expect(step.log()).toEqual([
      `Dry run: would run 1 release command of ${entityRef} on ${image}`,
      '[1/1] Migrate: echo migrated',
    ]);
    expect(step.outputs()).toEqual({ runUrl: pagePath });
    expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
  });

  it('fails, starting no run, when the task has no initiator', async () => {
    await setCommands({ label: 'Migrate', command: 'echo migrated' });

    const step = startAction(
      { entityRef, image },
      { initiator: mockCredentials.none() },
    );
    const error = await step.done.catch(e => e);

    expect(error.message).toBe(
      `Could not start the release commands of ${entityRef}: No user to act for: release commands are called only on behalf of the user who started this, never with the calling plugin's own credentials`,
    );
    expect(step.outputs()).toEqual({});
    expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
  });

  it.each([
    [
      'an image that is not an image reference',
      { image: 'Shop Image:latest' },
      /^image must be an image reference such as/,
    ],
    [
      'a malformed entity ref',
      { entityRef: 'component:shop' },
      'entityRef must be an entity ref of the form kind:namespace/name, got "component:shop"',
    ],
    [
      'a bad variable name',
      { env: { 'NOT-A-NAME': 'x' } },
      'env.NOT-A-NAME is not a valid name: use letters, digits and underscores, not starting with a digit',
    ],
    [
      'an environment name with spaces',
      { environment: 'Prod EU' },
      'environment must be a short lower-case name such as production or staging',
    ],
  ])('refuses %s before starting a run', async (_, input, message) => {
    await setCommands({ label: 'Migrate', command: 'echo migrated' });

    const error = await startAction({ entityRef, image, ...input }).done.catch(
      e => e,
    );

    expect(error.name).toBe('InputError');
    expect(error.message).toMatch(message);
    expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
  });

  describe('for an entity the catalog does not have yet', () => {
    const hideUntil = (condition: () => boolean) => {
      // Commands are set while the catalog has the entity; hiding it then
      // stands in for a component an earlier step registered (and whose
      // commands a release-commands:add step preset) that is not ingested.
      ingestedWhen.set(entityRef, condition);
    };

    it('waits until the catalog has ingested it, then starts the run', async () => {
      await setCommands({ label: 'Migrate', command: 'echo migrated' });
      const logger = mockServices.logger.mock();
      hideUntil(() =>
        logger.info.mock.calls.some(([message]) =>
          String(message).startsWith(
            `Waiting for the catalog to ingest ${entityRef} `,
          ),
        ),
      );

      const step = startAction({ entityRef, image }, { logger });
      await step.done;

      expect(step.log().filter(line => line.startsWith('Waiting'))).toEqual([
        `Waiting for the catalog to ingest ${entityRef} (registered by an earlier step?) for up to 300 s: release commands are kept and run only for entities the catalog knows`,
      ]);
      expect(step.log()).toEqual(
        expect.arrayContaining([
          'migrated',
          `Release commands of ${entityRef} passed`,
        ]),
      );
      expect(step.outputs().status).toBe('succeeded');
      const { runs } = await services.api.listRuns(entityRef);
      expect(runs.map(r => r.status)).toEqual(['succeeded']);
    });

    it('gives up after waitForEntitySeconds, saying what to check, and starts no run', async () => {
      await setCommands({ label: 'Migrate', command: 'echo migrated' });
      hideUntil(() => false);

      const step = startAction({ entityRef, image, waitForEntitySeconds: 1 });
      const error = await step.done.catch(e => e);

      expect(error.message).toBe(
        `${entityRef} is still not in the catalog (or not visible to you) after waiting 1 s, so no run was started. ` +
          'Check that an earlier step registered it (catalog:register) under exactly this kind, namespace and name, ' +
          "that the catalog processed its catalog-info.yaml without errors (the location's processing errors), " +
          'and that the user who started the task may see it; if the catalog is only slow, raise waitForEntitySeconds.',
      );
      expect(lookups.get(entityRef)).toBeGreaterThan(2);
      expect(step.outputs()).toEqual({});
      expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
    });

    it('fails at once with waitForEntitySeconds 0', async () => {
      await setCommands({ label: 'Migrate', command: 'echo migrated' });
      const before = lookups.get(entityRef);
      hideUntil(() => false);

      const step = startAction({ entityRef, image, waitForEntitySeconds: 0 });
      const error = await step.done.catch(e => e);

      expect(error.message).toBe(
        `${entityRef} is not in the catalog (or not visible to you), so no run was started: release commands are kept and run ` +
          'only for entities the catalog knows. Register it in an earlier step (catalog:register), and let this step ' +
          'wait for the catalog to ingest it with waitForEntitySeconds (0 here: no waiting).',
      );
      expect(lookups.get(entityRef)).toBe((before ?? 0) + 1);
      expect(step.log()).toEqual([]);
      expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
    });

    it('stops waiting when the task is cancelled, and starts no run', async () => {
      await setCommands({ label: 'Migrate', command: 'echo migrated' });
      hideUntil(() => false);
      const task = new AbortController();
      const logger = mockServices.logger.mock();
      logger.info.mockImplementation(message => {
        if (String(message).startsWith('Waiting')) task.abort();
      });

      const step = startAction(
        { entityRef, image },
        { logger, signal: task.signal },
      );
      const error = await step.done.catch(e => e);

      expect(error.message).toBe(
        `The task was cancelled while waiting for the catalog to ingest ${entityRef}; no run was started`,
      );
      expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
    });

    it('does not wait in a dry run, and lists no commands', async () => {
      hideUntil(() => false);

      const step = startAction({ entityRef, image }, { isDryRun: true });
      await step.done;

      expect(step.warnings()).toEqual([
        `Dry run: ${entityRef} is not in the catalog yet (or not visible to you); a real run would wait up to 300 s for the catalog to ingest it (registered by an earlier step?) before starting`,
      ]);
      expect(lookups.get(entityRef)).toBe(1);
      expect(step.log()).toEqual([
        `Dry run: would run 0 release commands of ${entityRef} on ${image} (a run without commands succeeds at once)`,
      ]);
      expect(step.outputs()).toEqual({ runUrl: pagePath });
    });
  });

  it('refuses a waitForEntitySeconds past the limit before starting a run', async () => {
    const error = await startAction({
      entityRef,
      image,
      waitForEntitySeconds: 3601,
    }).done.catch(e => e);

    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      'waitForEntitySeconds must be a whole number of seconds from 0 to 3600 (0: do not wait), got 3601',
    );
    expect((await services.api.listRuns(entityRef)).runs).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('Timed out waiting for a condition');
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}
