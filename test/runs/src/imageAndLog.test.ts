import {
  BackendProcess,
  buildBusyboxImage,
  findRepositoryRoot,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { labelledContainers, runsApi, waitFor } from './runs';

jest.setTimeout(5 * 60_000);

/** The lines a command wrote, without the plugin's own. */
function commandLines(
  chunks: Array<{ stream: string; text: string; step: number | null }>,
  step: number,
) {
  return chunks
    .filter(c => c.step === step && c.stream !== 'system')
    .map(c => c.text)
    .join('')
    .split('\n')
    .filter(Boolean);
}

/**
 * What ran, and the log as it was written, through the backend's API and
 * its live stream: the image a run resolved before its first step, kept
 * however the tag moves, and output in the order the command wrote it,
 * live while it runs.
 */
describe.each(['sqlite', 'postgres'] as const)(
  'what ran and what it wrote, on %s',
  database => {
    let docker: Docker;
    let backend: BackendProcess;
    let api: ReturnType<typeof runsApi>;
    let busybox: string;

    beforeAll(async () => {
      docker = await requireDocker();
      busybox = await buildBusyboxImage(docker);
      backend = await startBackendProcess({ database });
      api = runsApi(backend);
    });

    afterAll(async () => {
      await backend?.stop();
    });

    it('runs every step from the image id resolved before step 1, though the tag is re-pointed between steps', async () => {
      const suffix = randomBytes(3).toString('hex');
      const tag = `release-commands-test/repointed-${suffix}:1`;
      const build = (which: string) =>
        buildBusyboxImage(docker, {
          tag: `release-commands-test/repointed-${suffix}:${which}`,
          files: { '/which': { content: `${which}\n` } },
        });
      const first = await docker.getImage(await build('first')).inspect();
      const second = await docker.getImage(await build('second')).inspect();
      expect(first.Id).not.toBe(second.Id);
      const pointTagAt = (id: string) =>
        docker
          .getImage(id)
          .tag({ repo: `release-commands-test/repointed-${suffix}`, tag: '1' });
      await pointTagAt(first.Id);

      const entity = `repointed-${suffix}`;
      await api.setCommands(entity, [
        // Holds on until the test has moved the tag.
        {
          label: 'Before',
          command:
            'cat /which; while [ ! -e /go ]; do sleep 0.1; done; echo moved',
        },
        { label: 'After', command: 'cat /which' },
      ]);
      const run = await api.deploy(entity, { image: tag });
      await waitFor(
        async () => (await api.log(run.id)).includes('first\n'),
        'step 1 to print its image',
      );
      await pointTagAt(second.Id);
      expect((await docker.getImage(tag).inspect()).Id).toBe(second.Id);
      const [container] = await labelledContainers(docker, run.id);
      const exec = await docker
        .getContainer(container.Id)
        .exec({ Cmd: ['touch', '/go'] });
      // Step 1 prints "moved" and ends as soon as the file is there (the
      // container, and the exec with it, may then be gone at once).
      (await exec.start({})).resume();

      const ended = await api.waitForEnd(run.id);
      const { chunks } = await api.follow(run.id);
      expect(ended.status).toBe('succeeded');
      expect(commandLines(chunks, 0)).toEqual(['first', 'moved']);
      expect(commandLines(chunks, 1)).toEqual(['first']);
      expect(ended.image).toBe(tag);
      expect(ended.imageId).toBe(first.Id);
      // Built on the engine, never pulled: no registry serves it by digest.
      expect(ended.imageDigest).toBeNull();
      expect(await api.log(run.id)).toContain(
        `Image ${tag} is ${first.Id}; every step runs it`,
      );
      // And a run deployed now takes the tag's new image.
      await api.setCommands(`${entity}-next`, [
        { label: 'After', command: 'cat /which' },
      ]);
      const next = await api.waitForEnd(
        (
          await api.deploy(`${entity}-next`, { image: tag })
        ).id,
      );
      expect(next.imageId).toBe(second.Id);
      expect(await api.log(next.id)).toContain('second\n');
    });

    describe('the log as written', () => {
      it('keeps the order across stdout and stderr, in the stored log and the live stream, 10 runs out of 10', async () => {
        const entity = `ordered-${randomBytes(3).toString('hex')}`;
        await api.setCommands(entity, [
          {
            label: 'Interleave',
            command: 'echo out-1; echo err-2 >&2; echo out-3; echo err-4 >&2',
          },
        ]);
        const stored: string[][] = [];
        const live: string[][] = [];
        for (let i = 0; i < 10; i++) {
          const run = await api.deploy(entity, { image: busybox });
          // Followed from the start, while it runs.
          const { chunks, end } = await api.follow(run.id);
          expect(end?.status).toBe('succeeded');
          live.push(commandLines(chunks, 0));
          const text = await api.log(run.id);
          stored.push(
            text
              .split('\n')
              .filter(line => /^(out|err)-\d$/.test(line.trim()))
              .map(line => line.trim()),
          );
        }
        const inOrder = ['out-1', 'err-2', 'out-3', 'err-4'];
        expect(live).toEqual(Array(10).fill(inOrder));
        expect(stored).toEqual(Array(10).fill(inOrder));
      });

      it("shows the demo image's closing stderr line last", async () => {
        const root = findRepositoryRoot();
        const demo = `release-commands-test/demo-shop-${randomBytes(3).toString(
          'hex',
        )}:1`;
        execFileSync(
          'bash',
          [path.join(root, 'examples/demo-shop/build.sh'), demo],
          { stdio: 'pipe' },
        );
        try {
          const entity = `security-${randomBytes(3).toString('hex')}`;
          await api.setCommands(entity, [
            { label: 'Check security', command: './manage.sh check-security' },
          ]);
          const run = await api.deploy(entity, { image: demo });
          const { chunks, end } = await api.follow(run.id);
          expect(end?.status).toBe('failed');
          expect(commandLines(chunks, 0)).toEqual([
            'Running security configuration checks...',
            'database configuration    ... passed',
            'user accounts             ... passed',
            'gateway server            ... failed (HTTPS not enforced; no exemptions)',
            'Security configuration checks failed.',
          ]);
        } finally {
          await docker
            .getImage(demo)
            .remove()
            .catch(() => {});
        }
      });

      it('streams the output of a command that buffers without a terminal while it runs, and keeps it when its timeout kills it', async () => {
        // grep holds its output back when stdout is a pipe, as Python does
        // without PYTHONUNBUFFERED; here it then hangs, as a migration
        // waiting on a lock would, until its timeout.
        const entity = `buffered-${randomBytes(3).toString('hex')}`;
        await api.setCommands(entity, [
          {
            label: 'Migrate',
            command:
              '(echo "Applying shop.0001_initial..."; sleep 3600) | grep -v nothing',
            timeoutSeconds: 20,
          },
        ]);
        const run = await api.deploy(entity, { image: busybox });
        // Followed live from the start to the end.
        const { chunks, end } = await api.follow(run.id);
        expect(end?.status).toBe('timed_out');
        const ended = await api.getRun(run.id);
        expect(ended.reason).toMatch(
          /^"Migrate" timed out after 20\.\ds and was stopped/,
        );
        const line = chunks.find(
          c =>
            c.stream !== 'system' &&
            c.text.includes('Applying shop.0001_initial...'),
        );
        expect(line).toBeDefined();
        // It arrived while the command ran, long before its timeout stopped
        // it (without a terminal it comes only once the kill makes grep
        // exit, if at all).
        expect(
          Date.parse(line!.at) - Date.parse(ended.steps[0].startedAt!),
        ).toBeLessThan(10_000);
        expect(await api.log(run.id)).toContain(
          'Applying shop.0001_initial...',
        );
      });
    });
  },
);
