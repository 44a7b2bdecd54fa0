import { StepRequest } from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import { Duplex, Writable } from 'node:stream';
import { DockerEngine, hasStatus } from './DockerEngine';
import { TerminalLineEnds } from './TerminalLineEnds';

/**
 * What a terminal's reader gets for each of the first reads of a command
 * that asks for input: end of file, as it would from an empty stdin, so a
 * prompt fails at once rather than waiting for the step's timeout. (In the
 * terminal's line mode one end-of-file character ends one read.)
 *
 * Written once attached, before the container starts: the terminal keeps it
 * until the command reads. Written after the start, it can reach Podman after
 * a short command exited, and Podman then puts its own error ("write: broken
 * pipe") into the output, or loses the output altogether.
 */
const END_OF_INPUT = Buffer.alloc(8, 0x04);

/** How much of the start of the output is kept to read tini's messages. */
const HEAD_BYTES = 1024;

/** The output of a step's container, attached before it starts. */
export type StepOutput = {
  /** Settles once the engine ends the output or the connection breaks. */
  ended: Promise<void>;
  /**
   * Settles once the output ended, or once nothing came for `idleMs` while
   * it was read (an engine that died may never end it). Output that is
   * still coming, or that waits for a paused reader, is waited for.
   */
  drained(idleMs: number): Promise<void>;
  /**
   * The start of what the container wrote to stderr (to its terminal, when
   * it has one), where docker-init reports an executable it could not start.
   */
  head(): string;
  /** Detaches, emitting what was held back. */
  close(): void;
};

/**
 * Attaches to a created container's output: demultiplexed into stdout and
 * stderr without a terminal; with one, a single stream in the order it was
 * written, reported as stdout with its line ends turned back into `\n`.
 */
export async function attachStepOutput(
  engine: DockerEngine,
  container: Docker.Container,
  options: {
    tty: boolean;
    onOutput: StepRequest['onOutput'];
    /** The command's executable, to name when it cannot start. */
    executable: string;
  },
): Promise<StepOutput> {
  const { tty, onOutput } = options;
  let stream: Duplex;
  try {
    stream = await attach(engine, container, tty);
  } catch (error) {
    // Podman creates the container's process when it is attached to, and
    // answers 409 when that fails (a missing executable, say); Docker
    // reports that on the start.
    throw hasStatus(error, 409)
      ? engine.error(error, 'command', `Could not start ${options.executable}`)
      : engine.error(error, 'engine', 'Attaching to the container failed');
  }

  let head = '';
  let lastActivity = Date.now();
  /** Notes that output came, and keeps the start of it. */
  const received = (chunk: Buffer, keep: boolean) => {
    lastActivity = Date.now();
    if (keep && head.length < HEAD_BYTES) head += chunk.toString();
  };
  // A broken connection is reported by the wait; here it only ends the output.
  const ended = new Promise<void>(resolve => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });

  // While the consumer asks for a pause, nothing more is read: the engine
  // stops reading the container's output, and the command's writes block.
  let pauses = 0;
  const paced = (result: void | Promise<void>) => {
    if (!result) return;
    if (pauses++ === 0) stream.pause();
    const resume = () => {
      lastActivity = Date.now();
      if (--pauses === 0) stream.resume();
    };
    result.then(resume, resume);
  };

  let flush = () => {};
  if (tty) {
    // A command that reads its terminal is told that no input comes.
    stream.write(END_OF_INPUT, () => {});
    const lineEnds = new TerminalLineEnds();
    const emit = (chunk: Buffer) => {
      if (chunk.length > 0) paced(onOutput('stdout', chunk));
    };
    stream.on('data', (chunk: Buffer) => {
      received(chunk, true);
      emit(lineEnds.push(chunk));
    });
    flush = () => emit(lineEnds.flush());
    ended.then(flush);
  } else {
    const sink = (name: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          received(chunk, name === 'stderr');
          paced(onOutput(name, chunk));
          done();
        },
      });
    engine.docker.modem.demuxStream(stream, sink('stdout'), sink('stderr'));
  }

  return {
    ended,
    drained: idleMs =>
      new Promise<void>(resolve => {
        let timer: NodeJS.Timeout | undefined = undefined;
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const check = () => {
          const idle = Date.now() - lastActivity;
          if (pauses === 0 && idle >= idleMs) done();
          else timer = setTimeout(check, Math.max(10, idleMs - idle));
        };
        ended.then(done);
        check();
      }),
    head: () => head,
    close() {
      stream.destroy();
      flush();
      flush = () => {};
    },
  };
}

/**
 * The attach request; the stream it answers with lives as long as the
 * container, and is only written to with a terminal.
 */
async function attach(
  engine: DockerEngine,
  container: Docker.Container,
  tty: boolean,
): Promise<Duplex> {
  return await engine.call(
    abortSignal =>
      new Promise<Duplex>((resolve, reject) => {
        // Dialled here rather than through container.attach, which sends
        // its options as the request's body: Podman passes whatever follows
        // the request's headers to the command's stdin (a terminal echoes it
        // into the output), so the request must carry an empty body.
        engine.docker.modem.dial(
          {
            path: `/containers/${container.id}/attach?`,
            method: 'POST',
            abortSignal,
            isStream: true,
            // With a terminal, stdin is the terminal too: the connection is
            // taken over, so that END_OF_INPUT can be written to it.
            hijack: tty,
            // An empty Buffer is sent as `Content-Length: 0`; no body at all
            // would be chunked, and Podman passes its terminator on too.
            file: Buffer.alloc(0),
            statusCodes: {
              200: true,
              404: 'no such container',
              409: 'cannot attach',
              500: 'server error',
            },
            options: {
              stream: true,
              stdout: true,
              stderr: true,
              ...(tty ? { stdin: true } : {}),
            },
          },
          (error: unknown, stream: unknown) =>
            error ? reject(error) : resolve(stream as Duplex),
        );
      }),
  );
}
