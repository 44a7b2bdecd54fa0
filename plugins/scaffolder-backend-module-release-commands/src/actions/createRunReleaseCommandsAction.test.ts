import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { buildBusyboxImage, requireDocker } from '@release-commands/test-utils';
import {
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

  beforeAll(async () => {
    image = await buildBusyboxImage(await requireDocker());
    services = await startReleaseCommands({
      releaseCommands: {
        images: { allow: [{ repositoryPrefix: 'release-commands-test/' }] },
        docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
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
    } = {},
  ) {
    const action = createRunReleaseCommandsAction({
      ...services,
      config: mockServices.rootConfig({
        data: { app: { baseUrl: 'http://localhost:3000' } },
      }),
    });
    const logger = mockServices.logger.mock();
    const { initiator = mockCredentials.user(TEMPLATE_USER), ...rest } =
      options;
    const ctx = {
      ...createMockActionContext({ input: input as any, logger }),
      ...rest,
      getInitiatorCredentials: async () => initiator,
    };
    const done = action.handler(ctx as any);
    return {
      done,
      log: () => logger.info.mock.calls.map(call => call[0] as string),
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
