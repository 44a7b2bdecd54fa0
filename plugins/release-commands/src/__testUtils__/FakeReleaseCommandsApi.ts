import { ResponseError } from '@backstage/errors';
import {
  CommandDeclaration,
  CommandRevision,
  CommandRevisionAction,
  describeCommandChanges,
  ReleaseCommand,
  ReleaseCommandList,
  ReleaseCommandRun,
  RunLogEnd,
  RunPlan,
  RunStep,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ReleaseCommandsApi } from '../api/ReleaseCommandsApi';

export const ENTITY_REF = 'component:default/demo-shop';
const NOW = '2026-03-01T10:00:00.000Z';
/** Who the fake's writes are made by: the test app's user. */
const USER = 'user:default/guest';

/** A refusal as the client throws it for a backend error response. */
export function httpError(
  status: number,
  message: string,
): Promise<ResponseError> {
  const body = JSON.stringify({
    error: { name: 'Error', message },
    response: { statusCode: status },
  });
  return ResponseError.fromResponse({
    status,
    statusText: '',
    headers: { get: () => 'application/json' },
    text: async () => body,
  } as unknown as Response);
}

export function aCommand(overrides: Partial<ReleaseCommand>): ReleaseCommand {
  return {
    id: '00000000-0000-4000-8000-000000000000',
    label: 'A command',
    command: 'true',
    source: 'user',
    enabled: true,
    timeoutSeconds: null,
    createdBy: USER,
    createdAt: NOW,
    updatedBy: USER,
    updatedAt: NOW,
    ...overrides,
  };
}

/** The demo shop's commands, as the reference document's example has them. */
export function demoShopCommands(): ReleaseCommandList {
  return {
    entityRef: ENTITY_REF,
    revision: 3,
    defaultTimeoutSeconds: 1800,
    commands: [
      aCommand({
        id: '11111111-1111-4111-8111-111111111111',
        label: 'Migrate database',
        command: './manage.sh migrate',
        source: 'framework',
      }),
      aCommand({
        id: '22222222-2222-4222-8222-222222222222',
        label: 'Security checks',
        command: './manage.sh check-security',
        source: 'template',
        timeoutSeconds: 120,
      }),
      aCommand({
        id: '33333333-3333-4333-8333-333333333333',
        label: 'Fix tree',
        command: './manage.sh fix-tree',
        enabled: false,
      }),
    ],
  };
}

export function aRun(overrides: Partial<ReleaseCommandRun>): ReleaseCommandRun {
  return {
    id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
    entityRef: ENTITY_REF,
    environment: 'default',
    image: 'release-commands-demo/shop:1',
    imageId:
      'sha256:d0a1c39d6edf1f1a4f0cbb3e5e55e3b1e0c6f5d6a7b8c9d0e1f2a3b4c5d6e7f8',
    imageDigest: null,
    commandsRevision: 1,
    status: 'succeeded',
    trigger: 'pipeline',
    triggeredBy: 'plugin:ci',
    envKeys: [],
    reason: null,
    createdAt: NOW,
    startedAt: NOW,
    finishedAt: '2026-03-01T10:00:04.200Z',
    cancelRequestedAt: null,
    cancelRequestedBy: null,
    steps: [],
    ...overrides,
  };
}

/** A step of a run that took `seconds`, from the run's start. */
export function aStep(
  overrides: Partial<RunStep> & { seconds?: number } = {},
): RunStep {
  const { seconds = 4.2, ...step } = overrides;
  return {
    position: 0,
    label: 'Migrate database',
    source: null,
    command: './manage.sh migrate',
    timeoutSeconds: 1800,
    status: 'succeeded',
    exitCode: 0,
    oomKilled: false,
    startedAt: NOW,
    finishedAt: new Date(Date.parse(NOW) + seconds * 1000).toISOString(),
    ...step,
  };
}

/**
 * Runs of one command that took `seconds` each, given oldest first and
 * returned newest first as the API lists them.
 */
export function runsTaking(
  seconds: number[],
  step: Partial<RunStep> = {},
): ReleaseCommandRun[] {
  return seconds
    .map((s, i) =>
      aRun({
        id: `dddddddd-dddd-4ddd-8ddd-${String(i).padStart(12, '0')}`,
        steps: [aStep({ ...step, seconds: s })],
      }),
    )
    .reverse();
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

const SHELL_BUILTINS = ['echo', 'true', 'false', 'cd', 'test'];

/**
 * An in-memory backend for one entity: it keeps revisions (and answers a
 * stale one with 409, as the real one does), the history of its writes,
 * and runs. Every method is a jest mock, so tests can look at calls or
 * replace an implementation.
 */
export class FakeReleaseCommandsApi implements ReleaseCommandsApi {
  list: ReleaseCommandList;
  runs: ReleaseCommandRun[];
  /** Every write since the fake was made, oldest first. */
  revisions: CommandRevision[] = [];
  /** What the backend says of how long runs are kept: 90 days by default. */
  retentionSeconds: number | null;
  /** Executables the image of a check does not have: each is a problem. */
  missingExecutables: string[] = [];
  /** Further problems a check finds (an active run, an image that fails). */
  planProblems: string[] = [];
  private nextId = 1;

  constructor(
    options: {
      list?: ReleaseCommandList;
      runs?: ReleaseCommandRun[];
      retentionSeconds?: number | null;
    } = {},
  ) {
    this.list = options.list ?? demoShopCommands();
    this.runs = options.runs ?? [];
    this.retentionSeconds =
      options.retentionSeconds === undefined
        ? 90 * 86_400
        : options.retentionSeconds;
  }

  /** Someone else saves in another tab. */
  changeBehindTheUsersBack(list: Partial<ReleaseCommandList>) {
    this.write('replace', list.commands ?? this.list.commands, {
      changedBy: 'user:default/someone-else',
      list,
    });
  }

  /** Like the backend: a write names the revision it read. */
  private async checkRevision(revision: number) {
    if (revision !== this.list.revision) {
      throw await httpError(
        409,
        `The commands are at revision ${this.list.revision}, not ${revision}: reload and try again`,
      );
    }
  }

  /** Makes the next revision and keeps it in the history. */
  private write(
    action: CommandRevisionAction,
    commands: ReleaseCommand[],
    options: {
      changedBy?: string;
      restoredFrom?: number;
      list?: Partial<ReleaseCommandList>;
    } = {},
  ): ReleaseCommandList {
    const before = this.list.commands;
    this.list = {
      ...this.list,
      ...options.list,
      revision: this.list.revision + 1,
      commands,
    };
    this.revisions.push({
      entityRef: this.list.entityRef,
      revision: this.list.revision,
      action,
      changedBy: options.changedBy ?? USER,
      changedAt: NOW,
      restoredFrom: options.restoredFrom ?? null,
      changes: describeCommandChanges(before, commands),
      commands: clone(commands),
    });
    return clone(this.list);
  }

  getCommands = jest.fn(async (_entityRef: string) => clone(this.list));

  replaceCommands = jest.fn(
    async (
      _entityRef: string,
      body: Parameters<ReleaseCommandsApi['replaceCommands']>[1],
    ) => {
      await this.checkRevision(body.revision);
      const commands = body.commands.map(input => {
        const existing = this.list.commands.find(c => c.id === input.id);
        return aCommand({
          ...existing,
          id:
            input.id ??
            `99999999-9999-4999-8999-${String(this.nextId++).padStart(
              12,
              '0',
            )}`,
          source: existing?.source ?? 'user',
          label: input.label,
          command: input.command,
          enabled: input.enabled ?? true,
          timeoutSeconds: input.timeoutSeconds ?? null,
        });
      });
      return this.write('replace', commands);
    },
  );

  appendCommand = jest.fn(async () => {
    throw new Error('appendCommand is not used by the tab');
  });

  deleteCommand = jest.fn(async (_entityRef: string, id: string) =>
    this.write(
      'delete',
      this.list.commands.filter(c => c.id !== id),
    ),
  );

  /** What the entity's repository and image declare (none by default). */
  declarations: CommandDeclaration[] = [];

  getDeclaredCommands = jest.fn(async (entityRef: string) => ({
    entityRef,
    declarations: clone(this.declarations),
  }));

  /** Newest first, paged like the runs. */
  listRevisions = jest.fn(
    async (
      _entityRef: string,
      options: { limit?: number; cursor?: string } = {},
    ) => {
      const newestFirst = [...this.revisions].reverse();
      const start = options.cursor ? Number(options.cursor) : 0;
      const end = start + (options.limit ?? 20);
      return {
        revisions: clone(newestFirst.slice(start, end)),
        ...(end < newestFirst.length ? { nextCursor: String(end) } : {}),
      };
    },
  );

  restoreRevision = jest.fn(
    async (
      _entityRef: string,
      from: number,
      body: Parameters<ReleaseCommandsApi['restoreRevision']>[2],
    ) => {
      const restored = this.revisions.find(r => r.revision === from);
      if (!restored) throw await httpError(404, `No revision ${from}`);
      await this.checkRevision(body.revision);
      return this.write('restore', clone(restored.commands), {
        restoredFrom: from,
      });
    },
  );

  getPresets = jest.fn(async () => []);

  createRun = jest.fn(
    async (
      _entityRef: string,
      body: Parameters<ReleaseCommandsApi['createRun']>[1],
    ) => {
      const run = aRun({
        id: `bbbbbbbb-bbbb-4bbb-8bbb-${String(this.nextId++).padStart(
          12,
          '0',
        )}`,
        image: body.image,
        environment: body.environment ?? 'default',
        trigger: 'manual',
        triggeredBy: 'user:default/guest',
        envKeys: Object.keys(body.env ?? {}),
        status: 'queued',
        startedAt: null,
        finishedAt: null,
      });
      this.runs.unshift(run);
      return clone(run);
    },
  );

  /**
   * Like the backend: the enabled commands in order, each command's first
   * word looked up in an image that has all but `missingExecutables`
   * (`./x` in the working directory /app, a builtin by its name as
   * `command -v` answers it, anything else in /usr/bin).
   */
  checkRun = jest.fn(
    async (
      entityRef: string,
      body: Parameters<ReleaseCommandsApi['checkRun']>[1],
    ): Promise<RunPlan> => {
      const enabled = this.list.commands.filter(c => c.enabled);
      const steps = enabled.map((command, position) => {
        const executable = command.command.split(' ')[0];
        let path = `/usr/bin/${executable}`;
        if (executable.startsWith('./')) path = `/app/${executable.slice(2)}`;
        if (SHELL_BUILTINS.includes(executable)) path = executable;
        return {
          position,
          label: command.label,
          source: command.source,
          command: command.command,
          timeoutSeconds:
            command.timeoutSeconds ?? this.list.defaultTimeoutSeconds,
          executable,
          found: this.missingExecutables.includes(executable)
            ? (false as const)
            : path,
        };
      });
      const problems = [
        ...this.planProblems,
        ...steps
          .filter(step => step.found === false)
          .map(
            step =>
              `Step ${step.position + 1} of ${steps.length}, "${step.label}": ${
                step.executable
              } is not in the image ${
                body.image
              } (command -v found nothing there, as the step would run).`,
          ),
      ];
      return {
        dryRun: true,
        ok: problems.length === 0,
        entityRef,
        environment: body.environment ?? 'default',
        image: body.image,
        imageId:
          'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        imageDigest: null,
        steps,
        problems,
      };
    },
  );

  listRuns = jest.fn(
    async (
      _entityRef: string,
      options: { limit?: number; cursor?: string } = {},
    ) => {
      const start = options.cursor ? Number(options.cursor) : 0;
      const end = start + (options.limit ?? 20);
      return {
        runs: clone(this.runs.slice(start, end)),
        ...(end < this.runs.length ? { nextCursor: String(end) } : {}),
        retentionSeconds: this.retentionSeconds,
      };
    },
  );

  getRun = jest.fn(async (id: string) => {
    const run = this.runs.find(r => r.id === id);
    if (!run) throw await httpError(404, `No run ${id}`);
    return clone(run);
  });

  /** Like the backend: a queued run ends at once, a running one is asked to stop. */
  cancelRun = jest.fn(async (id: string) => {
    const run = this.runs.find(r => r.id === id);
    if (!run) throw await httpError(404, `No run ${id}`);
    Object.assign(run, {
      cancelRequestedAt: NOW,
      cancelRequestedBy: 'user:default/guest',
      ...(run.status === 'queued'
        ? { status: 'cancelled', finishedAt: NOW, reason: 'Cancelled' }
        : {}),
    });
    return clone(run);
  });

  getLogText = jest.fn(async (_id: string) => '');

  /** Ends at once with the run's status; tests stream by replacing it. */
  followLog = jest.fn(
    async (
      id: string,
      _options: Parameters<ReleaseCommandsApi['followLog']>[1],
    ): Promise<RunLogEnd> => {
      const run = await this.getRun(id);
      return { status: run.status, reason: run.reason };
    },
  );
}
