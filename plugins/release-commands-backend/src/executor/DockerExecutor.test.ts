import {
  ExecutorError,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import { buildBusyboxImage, requireDocker } from '@release-commands/test-utils';
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DockerExecutor } from './DockerExecutor';
import { DockerExecutorOptions } from './readDockerExecutorOptions';

jest.setTimeout(60_000);

const MISSING_IMAGE = 'release-commands-test/does-not-exist:1';

describe('DockerExecutor', () => {
  let docker: Docker;
  let image: string;
  let runIds: string[];

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
  });

  beforeEach(() => {
    runIds = [];
  });

  afterEach(async () => {
    for (const runId of runIds) {
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`org.release-commands.run=${runId}`] },
      });
      if (left.length > 0) {
        throw new Error(
          `Containers of run ${runId} were left behind: ${left.map(c => c.Id)}`,
        );
      }
    }
  });

  function newRunId() {
    const runId = `test-${randomUUID()}`;
    runIds.push(runId);
    return runId;
  }

  function createExecutor(
    options: Partial<DockerExecutorOptions> = {},
    client = docker,
  ) {
    return new DockerExecutor({
      docker: client,
      description: 'test engine',
      options: { networkMode: 'none', stopGracePeriodSeconds: 2, ...options },
    });
  }

  type Chunk = { stream: 'stdout' | 'stderr'; text: string };

  /** Runs argv to the end, collecting output in arrival order. */
  async function runStep(
    executor: DockerExecutor,
    argv: string[],
    overrides: Partial<StepRequest> = {},
  ): Promise<StepResult & { chunks: Chunk[]; stdout: string; stderr: string }> {
    const chunks: Chunk[] = [];
    const result = await executor.runStep({
      image,
      argv,
      env: { RELEASE_COMMAND: '1' },
      labels: {
        runId: newRunId(),
        entityRef: 'component:default/shop',
        step: 1,
        instanceId: 'test-instance',
        expiresAt: new Date(Date.now() + 3600_000),
      },
      onOutput: (stream, chunk) =>
        chunks.push({ stream, text: chunk.toString() }),
      signal: new AbortController().signal,
      ...overrides,
    });
    const text = (stream: Chunk['stream']) =>
      chunks
        .filter(c => c.stream === stream)
        .map(c => c.text)
        .join('');
    return {
      ...result,
      chunks,
      stdout: text('stdout'),
      stderr: text('stderr'),
    };
  }

  async function containerExists(id: string) {
    const all = await docker.listContainers({
      all: true,
      filters: { id: [id] },
    });
    return all.length > 0;
  }

  describe('runStep', () => {
    it('reports the exit code and demuxes stdout from stderr in order', async () => {
      const started: string[] = [];
      const result = await runStep(
        createExecutor(),
        ['/bin/sh', '-c', 'echo first; echo oops >&2; echo last; exit 3'],
        { onStarted: id => started.push(id) },
      );

      expect(result.exitCode).toBe(3);
      expect(result.oomKilled).toBe(false);
      // Order holds per stream only: the engine copies stdout and stderr
      // separately, and was seen to deliver "oops" before "first".
      expect(result.chunks.find(c => c.stream === 'stdout')?.text).toMatch(
        /^first\n/,
      );
      expect(result.stdout).toBe('first\nlast\n');
      expect(result.stderr).toBe('oops\n');
      expect(started).toEqual([result.workloadId]);
      expect(await containerExists(result.workloadId)).toBe(false);
    });

    it('delivers the first output of every run across 20 sequential runs', async () => {
      const executor = createExecutor();
      for (let i = 0; i < 20; i++) {
        const result = await runStep(executor, [
          '/bin/sh',
          '-c',
          `echo first ${i}; exit 3`,
        ]);
        expect(result).toMatchObject({ exitCode: 3, stdout: `first ${i}\n` });
      }
    }, 90_000);

    it('runs an exec form argv without a shell', async () => {
      const result = await runStep(createExecutor(), ['/bin/echo', 'hi']);

      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe('hi\n');
    });

    it('passes the environment to the command', async () => {
      const result = await runStep(
        createExecutor(),
        ['/bin/sh', '-c', 'echo "$RELEASE_COMMAND $GREETING"'],
        { env: { RELEASE_COMMAND: '1', GREETING: 'hello world' } },
      );

      expect(result.stdout).toBe('1 hello world\n');
    });

    it('stops the command with SIGTERM when the signal aborts', async () => {
      const controller = new AbortController();
      let workloadId = '';
      let abortedAt = 0;
      const result = await runStep(
        createExecutor(),
        ['/bin/sh', '-c', 'sleep 3600'],
        {
          signal: controller.signal,
          onStarted: id => {
            workloadId = id;
            setTimeout(() => {
              abortedAt = Date.now();
              controller.abort();
            }, 500);
          },
        },
      );

      // 143: docker-init passed SIGTERM on, so no SIGKILL was needed.
      expect(result.exitCode).toBe(143);
      expect(Date.now() - abortedAt).toBeLessThan(2_000 + 5_000);
      expect(await containerExists(workloadId)).toBe(false);
    });

    it('kills a command that ignores SIGTERM once the grace period is over', async () => {
      const controller = new AbortController();
      let abortedAt = 0;
      const result = await runStep(
        createExecutor({ stopGracePeriodSeconds: 1 }),
        ['/bin/sh', '-c', "trap '' TERM; echo ready; sleep 3600"],
        {
          signal: controller.signal,
          onOutput: () => {
            abortedAt = Date.now();
            controller.abort();
          },
        },
      );

      expect(result.exitCode).toBe(137);
      const elapsed = Date.now() - abortedAt;
      expect(elapsed).toBeGreaterThanOrEqual(1_000);
      expect(elapsed).toBeLessThan(1_000 + 5_000);
    });

    it('stops a step whose signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await runStep(
        createExecutor({ stopGracePeriodSeconds: 1 }),
        ['/bin/sh', '-c', 'sleep 3600'],
        { signal: controller.signal },
      );

      expect([143, 137]).toContain(result.exitCode);
    });

    it('reports a command killed for exceeding the memory limit', async () => {
      const result = await runStep(
        createExecutor({ memoryBytes: 16 * 1024 * 1024 }),
        ['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1'],
      );

      expect(result).toMatchObject({ exitCode: 137, oomKilled: true });
    });

    it('fails with kind "image" when the image is not on the engine', async () => {
      await expect(
        runStep(createExecutor(), ['/bin/true'], { image: MISSING_IMAGE }),
      ).rejects.toMatchObject({
        name: 'ExecutorError',
        kind: 'image',
        message: `Creating a container from ${MISSING_IMAGE} failed: No such image: ${MISSING_IMAGE}`,
      });
    });

    it.each([
      ['with docker-init', true],
      ['without docker-init', false],
    ])(
      'fails with kind "command" when the executable does not exist, %s',
      async (_, init) => {
        const error = await runStep(createExecutor({ init }), ['/nope']).catch(
          e => e,
        );

        expect(error).toBeInstanceOf(ExecutorError);
        expect(error.kind).toBe('command');
        expect(error.message).toMatch(/^Could not start \/nope: .*\/nope/);
        // afterEach checks that no container is left behind.
      },
    );

    it('fails with kind "engine" when the engine is unreachable', async () => {
      const executor = createExecutor(
        {},
        new Docker({ socketPath: '/nonexistent.sock' }),
      );

      await expect(runStep(executor, ['/bin/true'])).rejects.toMatchObject({
        kind: 'engine',
        message:
          'The Docker engine at test engine is unreachable: connect ENOENT /nonexistent.sock',
      });
    });

    it('fails with kind "engine" when the connection breaks during the wait', async () => {
      const proxy = await startEngineProxy();
      let workloadId = '';
      try {
        const step = runStep(
          createExecutor({}, proxy.docker),
          // By the time "up" arrives, wait() is long under way.
          ['/bin/sh', '-c', 'sleep 1; echo up; sleep 3600'],
          {
            onStarted: id => {
              workloadId = id;
            },
            onOutput: () => void proxy.cut(),
          },
        );

        await expect(step).rejects.toMatchObject({
          kind: 'engine',
          message: expect.stringMatching(
            /^The Docker engine at test engine is unreachable: /,
          ),
        });
      } finally {
        // Removal went through the broken connection too.
        await proxy.cut();
        await docker.getContainer(workloadId).remove({ force: true });
      }
    });
  });

  describe('prepareImage', () => {
    function prepare(executor: DockerExecutor, ref: string) {
      const lines: string[] = [];
      const done = executor.prepareImage({
        image: ref,
        log: line => lines.push(line),
        signal: new AbortController().signal,
      });
      return { done, lines };
    }

    it('uses an image that is present without pulling it', async () => {
      const { done, lines } = prepare(createExecutor(), image);

      await done;
      expect(lines).toEqual([`Image ${image} is present on the engine`]);
    });

    it('refuses a missing image when the pull policy is "never"', async () => {
      const { done } = prepare(
        createExecutor({ pullPolicy: 'never' }),
        MISSING_IMAGE,
      );

      await expect(done).rejects.toMatchObject({
        kind: 'image',
        message: `Image ${MISSING_IMAGE} is not present on the Docker engine and the pull policy is "never"; build or load it there first`,
      });
    });

    it('pulls a missing image and reports the registry error', async () => {
      const { done, lines } = prepare(createExecutor(), MISSING_IMAGE);

      // No registry is reachable from the test engine, so the pull fails.
      const error = await done.catch(e => e);
      expect(error).toBeInstanceOf(ExecutorError);
      expect(error.kind).toBe('image');
      expect(error.message).toMatch(
        new RegExp(`^Pulling ${MISSING_IMAGE} failed: .+`),
      );
      expect(error.message).not.toContain('HTTP code');
      expect(lines).toEqual([`Pulling ${MISSING_IMAGE} ...`]);
    });

    it('pulls a present image when the pull policy is "always"', async () => {
      const { done, lines } = prepare(
        createExecutor({ pullPolicy: 'always' }),
        image,
      );

      await expect(done).rejects.toMatchObject({ kind: 'image' });
      expect(lines).toEqual([`Pulling ${image} ...`]);
    });

    it('fails with kind "engine" when the engine is unreachable', async () => {
      const { done } = prepare(
        createExecutor({}, new Docker({ socketPath: '/nonexistent.sock' })),
        image,
      );

      await expect(done).rejects.toMatchObject({
        kind: 'engine',
        message:
          'The Docker engine at test engine is unreachable: connect ENOENT /nonexistent.sock',
      });
    });
  });

  describe('removeLeftovers', () => {
    async function createLabelled(labels: Record<string, string>) {
      return docker.createContainer({
        Image: image,
        Cmd: ['/bin/true'],
        Labels: labels,
        HostConfig: { NetworkMode: 'none' },
      });
    }

    function ourLabels(runId: string, expiresAt: Date) {
      return {
        'org.release-commands.managed': 'true',
        'org.release-commands.run': runId,
        'org.release-commands.expires-at': expiresAt.toISOString(),
      };
    }

    it('removes containers of dead runs and expired ones, and nothing else', async () => {
      const later = new Date(Date.now() + 3600_000);
      const deadRun = newRunId();
      const aliveRun = newRunId();
      const expiredRun = newRunId();
      const foreignRun = newRunId();
      const dead = await createLabelled(ourLabels(deadRun, later));
      const alive = await createLabelled(ourLabels(aliveRun, later));
      const expired = await createLabelled(
        ourLabels(expiredRun, new Date(Date.now() - 1000)),
      );
      // Same run label, but not marked as ours.
      const foreign = await createLabelled({
        'org.release-commands.run': foreignRun,
      });

      try {
        const asked: string[] = [];
        const removed = await createExecutor().removeLeftovers({
          // Every other run counts as alive, so containers of concurrent
          // test runs on the same engine are left alone.
          isAlive: async runId => {
            asked.push(runId);
            return runId !== deadRun;
          },
        });

        expect(removed).toEqual(expect.arrayContaining([dead.id, expired.id]));
        expect(removed).not.toContain(alive.id);
        expect(removed).not.toContain(foreign.id);
        expect(asked).not.toContain(foreignRun);
        expect(await containerExists(dead.id)).toBe(false);
        expect(await containerExists(expired.id)).toBe(false);
        expect(await containerExists(alive.id)).toBe(true);
        expect(await containerExists(foreign.id)).toBe(true);
      } finally {
        await alive.remove({ force: true });
        await foreign.remove({ force: true });
      }
    });
  });
});

/**
 * A client whose connections to the local engine can be cut, as when the
 * engine restarts or the network to a remote one fails.
 */
async function startEngineProxy() {
  const engineSocket = process.env.DOCKER_HOST?.startsWith('unix://')
    ? process.env.DOCKER_HOST.slice('unix://'.length)
    : '/var/run/docker.sock';
  const socketPath = path.join(
    os.tmpdir(),
    `engine-proxy-${randomUUID()}.sock`,
  );
  const sockets = new Set<net.Socket>();
  let closed: Promise<void> | undefined;
  const server = net.createServer(client => {
    // The server may still accept a connection that was queued at the cut.
    if (closed) {
      client.destroy();
      return;
    }
    const engine = net.connect(engineSocket);
    for (const socket of [client, engine]) {
      sockets.add(socket);
      socket.on('error', () => {});
    }
    client.pipe(engine).pipe(client);
  });
  await new Promise<void>(resolve => server.listen(socketPath, resolve));
  return {
    docker: new Docker({ socketPath }),
    cut() {
      closed ??= new Promise<void>(resolve => {
        server.close(() => resolve());
        sockets.forEach(socket => socket.destroy());
      });
      return closed;
    },
  };
}
