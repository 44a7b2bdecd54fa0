import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { ReleaseCommandRun } from '@release-commands/backstage-plugin-release-commands-common';
import { RunsStore } from '../database/RunsStore';
import { readNotificationSettings, RunNotifier } from './RunNotifier';

const RUN: ReleaseCommandRun = {
  id: '5b0e8d4e-7f1a-4c59-9d0b-2f2d7c1e9a10',
  entityRef: 'component:default/shop',
  environment: 'default',
  image: 'registry.example.com/shop:1.4.2',
  imageId: 'sha256:abc',
  imageDigest: null,
  commandsRevision: 3,
  status: 'failed',
  trigger: 'pipeline',
  triggeredBy: 'external:ci',
  envKeys: [],
  reason: '"Migrate" exited with code 3.',
  createdAt: '2026-12-02T10:00:00.000Z',
  startedAt: '2026-12-02T10:00:01.000Z',
  finishedAt: '2026-12-02T10:00:05.000Z',
  cancelRequestedAt: null,
  cancelRequestedBy: null,
  steps: [],
};

/** A notifier under `config`, for what it would send. */
function notifier(config: object = {}) {
  return new RunNotifier({
    runsStore: {} as RunsStore,
    notifications: { send: jest.fn() },
    settings: readNotificationSettings(new ConfigReader(config)),
    appBaseUrl: 'https://portal.example.com/',
    logger: mockServices.logger.mock(),
  });
}

describe('RunNotifier', () => {
  it.each([
    ['failed', 'Release commands of shop failed', 'high'],
    ['timed_out', 'Release commands of shop timed out', 'high'],
    ['interrupted', 'Release commands of shop were interrupted', 'high'],
    ['cancelled', 'Release commands of shop were cancelled', 'normal'],
  ] as const)(
    'tells the owners of a run that %s, naming the entity and the outcome',
    (status, title, severity) => {
      expect(notifier().notificationFor({ ...RUN, status })).toEqual({
        recipients: { type: 'entity', entityRef: 'component:default/shop' },
        payload: {
          title,
          description: RUN.reason,
          link: `https://portal.example.com/catalog/default/component/shop/release-commands?run=${RUN.id}`,
          severity,
          topic: 'release-commands',
          scope: RUN.id,
        },
      });
    },
  );

  it('names the environment, the namespace and a kind other than Component', () => {
    const { payload } = notifier().notificationFor({
      ...RUN,
      entityRef: 'resource:payments/ledger-db',
      environment: 'production',
    })!;
    expect(payload.title).toBe(
      'Release commands of resource payments/ledger-db failed in production',
    );
    expect(payload.link).toBe(
      `https://portal.example.com/catalog/payments/resource/ledger-db/release-commands?run=${RUN.id}`,
    );
  });

  it('does not tell whoever cancelled the run', () => {
    expect(
      notifier().notificationFor({
        ...RUN,
        status: 'cancelled',
        cancelRequestedBy: 'user:default/ada',
      })!.recipients,
    ).toEqual({
      type: 'entity',
      entityRef: 'component:default/shop',
      excludeEntityRef: 'user:default/ada',
    });
  });

  it('tells a success only where the config asks, per environment over the default', () => {
    const succeeded = (environment: string, config?: object) =>
      notifier(config).notificationFor({
        ...RUN,
        status: 'succeeded',
        reason: null,
        environment,
        steps: [{}, {}] as ReleaseCommandRun['steps'],
      })?.payload;
    const config = {
      releaseCommands: {
        notifications: {
          success: true,
          environments: { preview: { success: false }, staging: {} },
        },
      },
    };
    expect(succeeded('default')).toBeUndefined();
    expect(succeeded('default', config)).toMatchObject({
      title: 'Release commands of shop succeeded',
      description: '2 commands passed on registry.example.com/shop:1.4.2.',
      severity: 'low',
    });
    expect(succeeded('preview', config)).toBeUndefined();
    expect(succeeded('staging', config)?.title).toBe(
      'Release commands of shop succeeded in staging',
    );
  });

  it('sends nothing for a run still active, and logs a send that fails', async () => {
    const send = jest
      .fn()
      .mockRejectedValue(new Error('503 from notifications'));
    const logger = mockServices.logger.mock();
    const getRun = jest.fn().mockResolvedValue(RUN);
    const told = new RunNotifier({
      runsStore: { getRun } as unknown as RunsStore,
      notifications: { send },
      settings: readNotificationSettings(new ConfigReader({})),
      appBaseUrl: '',
      logger,
    });
    expect(told.notificationFor({ ...RUN, status: 'running' })).toBeUndefined();
    await told.ended(RUN.id);
    expect(send).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      `Could not notify the owners of how release command run ${RUN.id} ended: Error: 503 from notifications`,
    );
  });
});
