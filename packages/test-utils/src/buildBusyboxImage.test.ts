import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { buildBusyboxImage } from './buildBusyboxImage';
import { requireDocker } from './requireDocker';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(60_000);

describe('buildBusyboxImage', () => {
  let docker: Docker;

  beforeAll(async () => {
    docker = await requireDocker();
  });

  it('builds an image whose container prints a line that is read back through dockerode', async () => {
    const image = await buildBusyboxImage(docker, {
      tag: 'release-commands-test/busybox-selftest:1',
      files: {
        'app/hello.sh': { content: 'echo "hello from $1"\n', mode: 0o755 },
      },
    });

    const container = await docker.createContainer({
      Image: image,
      Cmd: ['/bin/sh', '-c', '/app/hello.sh busybox && echo oops >&2'],
      Tty: false,
      HostConfig: { NetworkMode: 'none' },
      Labels: { 'org.release-commands.test': 'buildBusyboxImage' },
    });
    try {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      stdout.on('data', d => out.push(d));
      stderr.on('data', d => err.push(d));
      const stream = await container.attach({
        stream: true,
        stdout: true,
        stderr: true,
      });
      const ended = new Promise(resolve => stream.on('end', resolve));
      container.modem.demuxStream(stream, stdout, stderr);
      await container.start();
      const result = await container.wait();
      await ended;

      expect(result.StatusCode).toBe(0);
      expect(Buffer.concat(out).toString()).toBe('hello from busybox\n');
      expect(Buffer.concat(err).toString()).toBe('oops\n');
    } finally {
      await container.remove({ force: true });
    }
  });

  it('refuses to build without a static busybox', async () => {
    await expect(
      buildBusyboxImage(docker, { busyboxPath: '/nonexistent/busybox' }),
    ).rejects.toThrow(/No static busybox at \/nonexistent\/busybox/);
  });
});
