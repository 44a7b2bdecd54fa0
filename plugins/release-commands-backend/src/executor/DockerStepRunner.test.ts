import {
  ExecutorError,
  StepRequest,
  StepResult,
} from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MISSING_IMAGE, useTestEngine } from '../__testUtils__/useTestEngine';
import { DockerEngine } from './DockerEngine';
import { DEFAULT_DOCKER_EXECUTOR_OPTIONS } from './DockerExecutor';
import { DockerStepOptions, DockerStepRunner } from './DockerStepRunner';

jest.setTimeout(60_000);

describe('DockerStepRunner', () => {
  const engine = useTestEngine();
  let docker: Docker;
  let image: string;

  beforeAll(() => {
    ({ docker, image } = engine);
  });

  function createRunner(
    options: Partial<DockerStepOptions> = {},
    client = docker,
  ) {
    return new DockerStepRunner(new DockerEngine(client, 'test engine'), {
      ...DEFAULT_DOCKER_EXECUTOR_OPTIONS,
      networkMode: 'none',
      stopGracePeriodSeconds: 2,
      ...options,
    });
  }

  type Chunk = { stream: 'stdout' | 'stderr'; text: string };

  /** Runs argv to the end, collecting output in arrival order. */
  async function runStep(
    runner: DockerStepRunner,
    argv: string[],
    overrides: Partial<StepRequest> = {},
  ): Promise<StepResult & { chunks: Chunk[]; stdout: string; stderr: string }> {
    const chunks: Chunk[] = [];
    const result = await runner.runStep({
      image,
      argv,
      env: { RELEASE_COMMAND: '1' },
      labels: {
        runId: engine.newRunId(),
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

  describe('runStep', () => {
    it('reports the exit code and demuxes stdout from stderr in order', async () => {
      const started: string[] = [];
      const result = await runStep(
        createRunner(),
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
      expect(await engine.containerExists(result.workloadId)).toBe(false);
    });

    it('delivers the first output of every run across 20 sequential runs', async () => {
      const executor = createRunner();
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
      const result = await runStep(createRunner(), ['/bin/echo', 'hi']);

      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe('hi\n');
    });

    it('passes the environment to the command', async () => {
      const result = await runStep(
        createRunner(),
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
        createRunner(),
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
      expect(await engine.containerExists(workloadId)).toBe(false);
    });

    it('kills a command that ignores SIGTERM once the grace period is over', async () => {
      const controller = new AbortController();
      let abortedAt = 0;
      const result = await runStep(
        createRunner({ stopGracePeriodSeconds: 1 }),
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
        createRunner({ stopGracePeriodSeconds: 1 }),
        ['/bin/sh', '-c', 'sleep 3600'],
        { signal: controller.signal },
      );

      expect([143, 137]).toContain(result.exitCode);
    });

    it('reports a command killed for exceeding the memory limit', async () => {
      const result = await runStep(
        createRunner({ memoryBytes: 16 * 1024 * 1024 }),
        ['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1'],
      );

      expect(result).toMatchObject({ exitCode: 137, oomKilled: true });
    });

    it('fails with kind "image" when the image is not on the engine', async () => {
      await expect(
        runStep(createRunner(), ['/bin/true'], { image: MISSING_IMAGE }),
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
        const error = await runStep(createRunner({ init }), ['/nope']).catch(
          e => e,
        );

        expect(error).toBeInstanceOf(ExecutorError);
        expect(error.kind).toBe('command');
        expect(error.message).toMatch(/^Could not start \/nope: .*\/nope/);
        // afterEach checks that no container is left behind.
      },
    );

    it('fails with kind "engine" when the engine is unreachable', async () => {
      const executor = createRunner(
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
          createRunner({}, proxy.docker),
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
