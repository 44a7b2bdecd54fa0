import Docker from 'dockerode';
import fs from 'node:fs';
import tar from 'tar-stream';

/** The tag of the image that container tests run. */
export const BUSYBOX_TEST_IMAGE = 'release-commands-test/busybox:1';

/** Where the image comes from and what it is called. */
export type BuildBusyboxImageOptions = {
  /** A statically linked busybox; Debian's busybox-static puts it at /bin/busybox. */
  busyboxPath?: string;
  tag?: string;
  /** Extra files, path (relative to /) to content, e.g. scripts for a demo app. */
  files?: Record<string, { content: string; mode?: number }>;
  /** Dockerfile instructions after the files, e.g. `VOLUME /data`. */
  instructions?: string[];
};

const dockerfile = (instructions: string[] = []) =>
  [
    'FROM scratch',
    'COPY busybox /bin/busybox',
    // Exec form: there is no shell until busybox has installed its applets.
    'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
    'COPY rootfs/ /',
    ...instructions,
    'LABEL org.release-commands.test-image="true"',
    'CMD ["/bin/sh"]',
    '',
  ].join('\n');

/**
 * Builds a tiny real image from a static busybox, since no registry can be
 * reached to pull one. The build is cached by the engine, so calling this in
 * every suite costs little after the first time.
 */
export async function buildBusyboxImage(
  docker: Docker,
  options: BuildBusyboxImageOptions = {},
): Promise<string> {
  const busyboxPath =
    options.busyboxPath ?? process.env.BUSYBOX_PATH ?? '/bin/busybox';
  const tag = options.tag ?? BUSYBOX_TEST_IMAGE;
  if (!fs.existsSync(busyboxPath)) {
    throw new Error(
      `No static busybox at ${busyboxPath}; install Debian's busybox-static or set BUSYBOX_PATH`,
    );
  }

  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, dockerfile(options.instructions));
  pack.entry(
    { name: 'busybox', mode: 0o755 },
    await fs.promises.readFile(busyboxPath),
  );
  pack.entry({ name: 'rootfs/', type: 'directory', mode: 0o755 });
  for (const [name, file] of Object.entries(options.files ?? {})) {
    pack.entry(
      { name: `rootfs/${name.replace(/^\/+/, '')}`, mode: file.mode ?? 0o644 },
      file.content,
    );
  }
  pack.finalize();

  const stream = await docker.buildImage(
    pack as unknown as NodeJS.ReadableStream,
    {
      t: tag,
      rm: true,
      forcerm: true,
    },
  );
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string }>) => {
        const failure = error?.message ?? events.find(e => e.error)?.error;
        if (failure) {
          reject(new Error(`Building ${tag} failed: ${failure}`));
        } else {
          resolve();
        }
      },
    );
  });
  return tag;
}
