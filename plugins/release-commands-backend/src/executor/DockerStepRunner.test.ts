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
import { buildBusyboxImage } from '@release-commands/test-utils';
import { MISSING_IMAGE, useTestEngine } from '../__testUtils__/useTestEngine';
import { DockerEngine, EngineTolerance } from './DockerEngine';
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
    tolerance: Partial<EngineTolerance> = {},
  ) {
    return new DockerStepRunner(
      new DockerEngine(client, 'test engine', tolerance),
      {
        ...DEFAULT_DOCKER_EXECUTOR_OPTIONS,
        networkMode: 'none',
        stopGracePeriodSeconds: 2,
        ...options,
      },
    );
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
      onOutput: (stream, chunk) => {
        chunks.push({ stream, text: chunk.toString() });
      },
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
    // `docker run --rm IMAGE sh -c 'exit 4'` against Podman's service reports
    // exit 0; the exit code must come from the container's own state.
    it.each([true, false])(
      "reports exit code 4 of sh -c 'exit 4' (terminal: %s)",
      async tty => {
        const result = await runStep(createRunner({ tty }), [
          'sh',
          '-c',
          'exit 4',
        ]);

        expect(result).toMatchObject({ exitCode: 4, oomKilled: false });
      },
    );

    it('reports the exit code and, with a terminal, the output in the order it was written', async () => {
      const started: string[] = [];
      const result = await runStep(
        createRunner(),
        ['/bin/sh', '-c', 'echo out-1; echo err-2 >&2; echo out-3; exit 3'],
        { onStarted: id => started.push(id) },
      );

      expect(result.exitCode).toBe(3);
      expect(result.oomKilled).toBe(false);
      // One stream, as a terminal shows it, with \n line ends.
      expect(result.stdout).toBe('out-1\nerr-2\nout-3\n');
      expect(result.stderr).toBe('');
      expect(started).toEqual([result.workloadId]);
      expect(await engine.containerExists(result.workloadId)).toBe(false);
    });

    it('keeps the order across stdout and stderr in 20 runs out of 20 with a terminal', async () => {
      const runner = createRunner();
      const outputs: string[] = [];
      for (let i = 0; i < 20; i++) {
        const { stdout } = await runStep(runner, [
          '/bin/sh',
          '-c',
          'echo out-1; echo err-2 >&2; echo out-3; echo err-4 >&2',
        ]);
        outputs.push(stdout);
      }
      expect(outputs).toEqual(Array(20).fill('out-1\nerr-2\nout-3\nerr-4\n'));
    }, 90_000);

    it('tells stdout from stderr without a terminal, in order per stream only', async () => {
      const result = await runStep(createRunner({ tty: false }), [
        '/bin/sh',
        '-c',
        'echo first; echo oops >&2; echo last; exit 3',
      ]);

      expect(result.exitCode).toBe(3);
      // The engine copies stdout and stderr separately, and was seen to
      // deliver "oops" before "first": the order across them is lost.
      expect(result.chunks.find(c => c.stream === 'stdout')?.text).toMatch(
        /^first\n/,
      );
      expect(result.stdout).toBe('first\nlast\n');
      expect(result.stderr).toBe('oops\n');
    });

    it.each([
      ['with a terminal', true],
      ['without one', false],
    ])(
      'lets a command that asks for input read end of file, %s',
      async (_, tty) => {
        const startedAt = Date.now();
        const result = await runStep(createRunner({ tty }), [
          '/bin/sh',
          '-c',
          'read answer; echo "read $? [$answer]"; read again; echo "read $?"',
        ]);

        expect(result.stdout).toBe('read 1 []\nread 1\n');
        expect(result.exitCode).toBe(0);
        expect(Date.now() - startedAt).toBeLessThan(20_000);
      },
    );

    it('shows the output of a program that buffers without a terminal while it runs, with one', async () => {
      // grep holds its output back when stdout is a pipe, and writes each
      // line at once to a terminal.
      const argv = [
        '/bin/sh',
        '-c',
        '(echo first; sleep 3; echo second) | grep -v nothing',
      ];
      async function whenFirstArrives(tty: boolean) {
        let firstAt = 0;
        await runStep(createRunner({ tty }), argv, {
          onOutput: (_stream, chunk) => {
            if (!firstAt && chunk.toString().includes('first')) {
              firstAt = Date.now();
            }
          },
        });
        // How long before the step's end "first" was there to see.
        return Date.now() - firstAt;
      }

      expect(await whenFirstArrives(true)).toBeGreaterThan(2000);
      expect(await whenFirstArrives(false)).toBeLessThan(2000);
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

    it.each([true, false])(
      'reads no more output while the consumer asks for a pause, and loses none (terminal: %s)',
      async tty => {
        const chunks: Buffer[] = [];
        let paused = false;
        let readWhilePaused = 0;
        let pauses = 0;
        let bytesThisPause = 0;
        let mostInOnePause = 0;
        const result = await runStep(
          createRunner(),
          // 4 MB: far more than the engine's and the kernel's buffers.
          ['/bin/sh', '-c', 'yes 0123456789abcdef | head -c 4194304'],
          {
            tty,
            onOutput: (_stream, chunk) => {
              if (paused) {
                readWhilePaused++;
                bytesThisPause += chunk.length;
                mostInOnePause = Math.max(mostInOnePause, bytesThisPause);
              }
              chunks.push(chunk);
              if (chunks.length % 4 !== 0) return undefined;
              paused = true;
              pauses++;
              bytesThisPause = 0;
              return new Promise<void>(resolve =>
                setTimeout(() => {
                  paused = false;
                  resolve();
                }, 5),
              );
            },
          },
        );
        expect(result.exitCode).toBe(0);
        const output = Buffer.concat(chunks).toString();
        expect(output.length).toBe(4194304);
        expect(output).toBe(
          '0123456789abcdef\n'.repeat(246724).slice(0, 4194304),
        );
        expect(pauses).toBeGreaterThan(2);
        // With a terminal, one read is one chunk: nothing comes during a
        // pause. Without, what one read (64 KB at most) held of the stream's
        // frames still comes out of it, and nothing more.
        expect(tty ? readWhilePaused : mostInOnePause).toBeLessThanOrEqual(
          tty ? 0 : 64 * 1024,
        );
      },
    );

    it('keeps no engine log of the output, which it reads from the attach stream alone', async () => {
      const create = jest.spyOn(docker, 'createContainer');
      try {
        const result = await runStep(createRunner(), [
          '/bin/sh',
          '-c',
          'echo secret output',
        ]);
        expect(result.stdout).toBe('secret output\n');
        expect(create).toHaveBeenCalledTimes(1);
        expect(create.mock.calls[0][0].HostConfig?.LogConfig).toEqual({
          Type: 'none',
          Config: {},
        });
      } finally {
        create.mockRestore();
      }
    });

    describe('least privilege', () => {
      const probe = ['/bin/sh', '-c', 'grep Cap /proc/self/status; id'];
      const zeroCaps = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map(
        set => `${set}:\t0000000000000000`,
      );

      it("drops every capability, under the image's own user by default", async () => {
        const result = await runStep(createRunner(), probe);

        expect(result.exitCode).toBe(0);
        const lines = result.stdout.split(/\r?\n/);
        expect(lines).toEqual(expect.arrayContaining(zeroCaps));
        // The test image sets no USER (nor /etc/passwd): root, without powers.
        expect(result.stdout).toMatch(/^uid=0(\(root\))? gid=0/m);
      });

      it('runs as the configured user, with only the capabilities given back', async () => {
        const result = await runStep(
          createRunner({
            user: '10001:10001',
            capAdd: ['CAP_NET_BIND_SERVICE'],
          }),
          probe,
        );

        expect(result.exitCode).toBe(0);
        expect(result.stdout).toMatch(/^uid=10001 gid=10001/m);
        // NET_BIND_SERVICE is bit 10. On Docker a non-root user holds it
        // only in the bounding set; Podman makes it effective (and ambient)
        // for that user. Either way, nothing else.
        expect(result.stdout).toMatch(/^CapBnd:\t0000000000000400$/m);
        expect(result.stdout).toMatch(
          engine.kind === 'podman'
            ? /^CapEff:\t0000000000000400$/m
            : /^CapEff:\t0000000000000000$/m,
        );
      });

      it('cannot write to the image with a read-only file system, only to /tmp', async () => {
        const result = await runStep(
          createRunner({ readOnlyRootFilesystem: true, tmpBytes: 1024 * 1024 }),
          [
            '/bin/sh',
            '-c',
            'touch /image-file || echo refused; echo kept > /tmp/f && cat /tmp/f; df -k /tmp | tail -n 1',
          ],
        );

        expect(result.exitCode).toBe(0);
        expect(result.stdout).toMatch(/Read-only file system/);
        expect(result.stdout).toMatch(/^refused$/m);
        expect(result.stdout).toMatch(/^kept$/m);
        // A 1 MiB tmpfs: 1024 blocks of 1 kB.
        expect(result.stdout).toMatch(/^tmpfs\s+1024\s/m);
      });

      it("joins the environment's own network, else the one for all", async () => {
        const create = jest.spyOn(docker, 'createContainer');
        const runner = createRunner({
          networkMode: 'none',
          environmentNetworkModes: { production: 'host' },
        });
        const interfaces = ['/bin/sh', '-c', 'tail -n +3 /proc/net/dev'];
        try {
          const staging = await runStep(runner, interfaces, {
            environment: 'staging',
          });
          const production = await runStep(runner, interfaces, {
            environment: 'production',
          });
          // A name every object has must not be taken for a setting.
          await runStep(runner, ['/bin/true'], { environment: 'constructor' });
          expect(
            create.mock.calls.map(
              ([options]) => options.HostConfig?.NetworkMode,
            ),
          ).toEqual(['none', 'host', 'none']);
          const names = (text: string) =>
            text
              .trim()
              .split(/\r?\n/)
              .map(line => line.split(':')[0].trim());
          expect(names(staging.stdout)).toEqual(['lo']);
          expect(names(production.stdout)).toEqual(
            expect.arrayContaining(['lo']),
          );
          expect(names(production.stdout).length).toBeGreaterThan(1);
        } finally {
          create.mockRestore();
        }
      });

      it("removes the anonymous volumes of an image's VOLUME paths with the container", async () => {
        const withVolume = await buildBusyboxImage(docker, {
          tag: 'release-commands-test/with-volume:1',
          instructions: ['VOLUME /data'],
        });
        const volumes = async () =>
          ((await docker.listVolumes()).Volumes ?? []).map(v => v.Name);
        const before = await volumes();
        // The engine makes the volume with the container: looked up then.
        let mounted: string[] = [];
        const create = docker.createContainer.bind(docker);
        const spy = jest
          .spyOn(docker, 'createContainer')
          .mockImplementation(async options => {
            const container = await create(options);
            const info = await container.inspect();
            mounted = info.Mounts.map(m => m.Name ?? '');
            return container;
          });
        try {
          const result = await runStep(
            createRunner(),
            ['/bin/sh', '-c', 'echo secret-ish > /data/left; cat /data/left'],
            { image: withVolume },
          );
          expect(result.stdout).toBe('secret-ish\n');
        } finally {
          spy.mockRestore();
        }
        // The step had a volume of its own, and it is gone with the step.
        expect(mounted).toHaveLength(1);
        expect(before).not.toContain(mounted[0]);
        expect(await volumes()).not.toContain(mounted[0]);
      });

      it('limits memory to 2 GiB unless told otherwise', async () => {
        const create = jest.spyOn(docker, 'createContainer');
        try {
          await runStep(createRunner(), ['/bin/true']);
          await runStep(createRunner({ memoryBytes: null }), ['/bin/true']);
          const limits = create.mock.calls.map(([options]) => [
            options.HostConfig?.Memory,
            options.HostConfig?.MemorySwap,
          ]);
          expect(limits).toEqual([
            [2 * 1024 ** 3, 2 * 1024 ** 3],
            [undefined, undefined],
          ]);
        } finally {
          create.mockRestore();
        }
      });
    });

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

    describe('out of memory', () => {
      const limited = { memoryBytes: 16 * 1024 * 1024, oomEventGraceMs: 1000 };
      // Allocating at once, the command can be killed before the engine
      // watches for it (containerd arms its OOM watch after the start): a
      // real program starts first, as this one does.
      const allocate = 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1';

      it('enforces the memory limit', async () => {
        const result = await runStep(createRunner(limited), [
          '/bin/sh',
          '-c',
          allocate,
        ]);

        expect(result.exitCode).toBe(137);
      });

      // Podman 4.3's conmon records no OOM kill on cgroup v1 (the state's
      // OOMKilled stays false and no oom event comes), so there the step is
      // reported as killed by SIGKILL: see the README.
      (engine.kind === 'podman' ? describe.skip : describe)(
        'as the engine tells',
        () => {
          it('reports a command killed for exceeding the memory limit', async () => {
            const result = await runStep(createRunner(limited), [
              '/bin/sh',
              '-c',
              allocate,
            ]);

            expect(result).toMatchObject({ exitCode: 137, oomKilled: true });
          });

          // The engine's state is faked; its events are real.
          it("reports it from the engine's oom event when the engine learnt of it after the exit", async () => {
            const client = withFaults(docker, {
              inspect: async real => {
                const info = await real();
                return { ...info, State: { ...info.State, OOMKilled: false } };
              },
            });

            const result = await runStep(createRunner(limited, client), [
              '/bin/sh',
              '-c',
              allocate,
            ]);

            expect(result).toMatchObject({ exitCode: 137, oomKilled: true });
          });
        },
      );

      it.each([
        ['exit 137', 'exit 137'],
        ['a kill -9 of its own', 'kill -9 $$'],
      ])('does not call %s out of memory', async (_, command) => {
        const result = await runStep(createRunner(limited), [
          '/bin/sh',
          '-c',
          command,
        ]);

        expect(result).toMatchObject({ exitCode: 137, oomKilled: false });
      });
    });

    it('fails with kind "image" when the image is not on the engine', async () => {
      await expect(
        runStep(createRunner(), ['/bin/true'], { image: MISSING_IMAGE }),
      ).rejects.toMatchObject({
        name: 'ExecutorError',
        kind: 'image',
        message:
          engine.kind === 'podman'
            ? `Creating a container from ${MISSING_IMAGE} failed: no such image: docker.io/${MISSING_IMAGE}: image not known`
            : `Creating a container from ${MISSING_IMAGE} failed: No such image: ${MISSING_IMAGE}`,
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
        await docker.getContainer(workloadId).remove({ force: true });
        await proxy.close();
      }
    });
  });

  describe('an engine that fails now and then', () => {
    const quick = { retryDelayMs: 100 };
    const polling = { engineCheckIntervalMs: 300 };
    const connectionReset = () =>
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const neverAnswers = () => new Promise<never>(() => {});

    it('reports the exit code of a command while the engine was unreachable for a few seconds', async () => {
      const proxy = await startEngineProxy();
      let cutAt = 0;
      let output = '';
      const result = await runStep(
        createRunner({}, proxy.docker),
        // By the time "up" arrives, the start is long answered.
        ['/bin/sh', '-c', 'sleep 1; echo up; sleep 5; exit 4'],
        {
          onOutput: (_stream, chunk) => {
            output += chunk.toString();
            if (cutAt) return;
            cutAt = Date.now();
            proxy.cut();
            // Two checks of the default three fail; the third gets through.
            setTimeout(() => proxy.restore(), 2500);
          },
        },
      ).finally(() => proxy.close());

      expect(result.exitCode).toBe(4);
      // What the command wrote while its output stream was cut is lost.
      expect(output).toBe('up\n');
      expect(Date.now() - cutAt).toBeGreaterThan(2500);
    });

    // A single failed inspect cannot be caused on a real engine on cue:
    // these inject it (and its kin) into the real client's answers.
    it('does not end a healthy command for one failed check', async () => {
      let checks = 0;
      const client = withFaults(docker, {
        // Only the checks tell when the command ends.
        wait: neverAnswers,
        inspect: real => {
          checks++;
          return checks === 2 ? Promise.reject(connectionReset()) : real();
        },
      });

      const result = await runStep(createRunner(polling, client, quick), [
        '/bin/sh',
        '-c',
        'sleep 2; echo done; exit 4',
      ]);

      expect(checks).toBeGreaterThan(3);
      expect(result).toMatchObject({ exitCode: 4, stdout: 'done\n' });
    });

    it('ends the step with an engine error after three failed checks in a row', async () => {
      let failing = false;
      const client = withFaults(docker, {
        wait: neverAnswers,
        inspect: real => (failing ? Promise.reject(connectionReset()) : real()),
      });

      const step = runStep(
        createRunner(polling, client, quick),
        ['/bin/sh', '-c', 'echo up; sleep 3600'],
        {
          onOutput: () => {
            failing = true;
          },
        },
      );

      await expect(step).rejects.toMatchObject({
        kind: 'engine',
        message:
          'The Docker engine at test engine is unreachable: socket hang up',
      });
      // afterEach checks that the container was removed all the same.
    });

    it('gives up on a check the engine leaves unanswered', async () => {
      let hanging = false;
      const client = withFaults(docker, {
        wait: neverAnswers,
        inspect: real => (hanging ? neverAnswers() : real()),
      });

      const startedAt = Date.now();
      const step = runStep(
        createRunner(polling, client, { ...quick, callTimeoutMs: 500 }),
        ['/bin/sh', '-c', 'echo up; sleep 3600'],
        {
          onOutput: () => {
            hanging = true;
          },
        },
      );

      await expect(step).rejects.toMatchObject({
        kind: 'engine',
        message:
          'The Docker engine at test engine is unreachable: no answer within 0.5s',
      });
      expect(Date.now() - startedAt).toBeLessThan(20_000);
    });

    it("takes the exit code from the engine's wait when it no longer answers inspects", async () => {
      let exited = false;
      const client = withFaults(docker, {
        wait: async real => {
          const answer = await real();
          exited = true;
          return answer;
        },
        inspect: real => (exited ? Promise.reject(connectionReset()) : real()),
      });

      const result = await runStep(createRunner({}, client, quick), [
        '/bin/sh',
        '-c',
        'echo done; exit 5',
      ]);

      expect(result).toMatchObject({ exitCode: 5, oomKilled: false });
    });
  });
});

/**
 * A client whose connections to the local engine can be cut, as when the
 * engine restarts or the network to a remote one fails: cut, every open
 * connection breaks and new ones are dropped at once, until restored.
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
  let refusing = false;
  const server = net.createServer(client => {
    if (refusing) {
      client.destroy();
      return;
    }
    const engine = net.connect(engineSocket);
    for (const socket of [client, engine]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(engine).pipe(client);
  });
  await new Promise<void>(resolve => server.listen(socketPath, resolve));
  return {
    docker: new Docker({ socketPath }),
    cut() {
      refusing = true;
      sockets.forEach(socket => socket.destroy());
    },
    restore() {
      refusing = false;
    },
    close() {
      this.cut();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

/**
 * The real client with faults injected where a real engine cannot be made
 * to fail on cue: the containers it hands out answer `inspect` and `wait`
 * through `faults`, which may throw, never answer, or change the answer.
 */
function withFaults(
  docker: Docker,
  faults: {
    inspect?(
      real: () => Promise<Docker.ContainerInspectInfo>,
    ): Promise<Docker.ContainerInspectInfo>;
    wait?(real: () => Promise<unknown>): Promise<unknown>;
  },
): Docker {
  const client = new Docker({ modem: docker.modem } as Docker.DockerOptions);
  const getContainer = client.getContainer.bind(client);
  client.getContainer = (id: string) => {
    const container = getContainer(id);
    const inspect = container.inspect.bind(container);
    const wait = container.wait.bind(container);
    if (faults.inspect) {
      const fault = faults.inspect;
      container.inspect = ((options?: Docker.ContainerInspectOptions) =>
        fault(() => inspect(options))) as Docker.Container['inspect'];
    }
    if (faults.wait) {
      const fault = faults.wait;
      container.wait = (() => fault(() => wait())) as Docker.Container['wait'];
    }
    return container;
  };
  return client;
}
