/*
 * Benchmark: what a run through the plugin costs over plain `docker run --rm`
 * of the same image and command, measured in the same session against the
 * same engine, and how the backend copes with a command that prints 200 MB.
 *
 * The plugin side is the real portal backend process (SQLite, default Docker
 * settings), called over HTTP with a service token; a run is timed from the
 * POST until its log stream says it ended. Run: bash bench/run-overhead.sh
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import {
  buildBusyboxImage,
  readServerSentEvents,
  requireDocker,
  startBackendProcess,
  BackendProcess,
} from '../packages/test-utils/src';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const COMMAND = 'echo hello';
const BIG_BYTES = 200_000_000;
const BIG_COMMAND = `yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst | head -c ${BIG_BYTES}`;

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - started) / 1e6, result];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function setCommand(
  backend: BackendProcess,
  entity: string,
  command: string,
) {
  // Commands are kept only for entities in the backend's catalog.
  await backend.registerComponents([entity]);
  const path = `/entities/component/default/${entity}/commands`;
  const { revision } = await (await backend.api(path)).json();
  const res = await backend.api(path, {
    method: 'PUT',
    body: JSON.stringify({ revision, commands: [{ label: 'Bench', command }] }),
  });
  if (!res.ok)
    throw new Error(`PUT commands: ${res.status} ${await res.text()}`);
}

/** Starts a run and follows its log until the end event; returns the end. */
async function runThroughApi(
  backend: BackendProcess,
  entity: string,
  image: string,
  onChunk?: (text: string) => void,
) {
  const res = await backend.api(`/entities/component/default/${entity}/runs`, {
    method: 'POST',
    body: JSON.stringify({ image }),
  });
  const created = await res.json();
  if (res.status !== 202)
    throw new Error(`POST runs: ${JSON.stringify(created)}`);
  const stream = await backend.api(`/runs/${created.id}/logs?follow=true`);
  let end: { status: string } | undefined;
  for await (const event of readServerSentEvents(stream)) {
    if (event.event === 'chunk') onChunk?.(JSON.parse(event.data).text);
    if (event.event === 'end') end = JSON.parse(event.data);
  }
  if (end?.status !== 'succeeded') {
    throw new Error(`Run ${created.id} ended ${end?.status}`);
  }
  return { id: created.id as string, endedAt: Date.now() };
}

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function main() {
  const docker = await requireDocker();
  const image = await buildBusyboxImage(docker);
  const backend = await startBackendProcess({
    database: 'sqlite',
    // The plugin's defaults: engine's default network, 10 s grace.
    releaseCommands: { docker: {} },
  });
  try {
    await setCommand(backend, 'bench', COMMAND);
    const dockerRun = () =>
      run('docker', ['run', '--rm', image, '/bin/sh', '-c', COMMAND]);

    for (let i = 0; i < 3; i++) {
      await dockerRun();
      await runThroughApi(backend, 'bench', image);
    }
    const plain: number[] = [];
    const plugin: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      plain.push((await timed(dockerRun))[0]);
      plugin.push(
        (await timed(() => runThroughApi(backend, 'bench', image)))[0],
      );
    }
    const ratio = median(plugin) / median(plain);
    console.log(
      `1-step run of "${COMMAND}", ${ROUNDS} rounds, interleaved:\n` +
        `  docker run --rm   median ${median(plain).toFixed(
          0,
        )} ms (min ${Math.min(...plain).toFixed(0)}, max ${Math.max(
          ...plain,
        ).toFixed(0)})\n` +
        `  through the API   median ${median(plugin).toFixed(
          0,
        )} ms (min ${Math.min(...plugin).toFixed(0)}, max ${Math.max(
          ...plugin,
        ).toFixed(0)})\n` +
        `  ratio (API / docker run --rm): ${ratio.toFixed(2)} (goal <= 1.15)`,
    );

    // A command that prints 200 MB, followed live by one client.
    const [plainBigMs] = await timed(() =>
      run('docker', [
        'run',
        '--rm',
        image,
        '/bin/sh',
        '-c',
        `${BIG_COMMAND} > /dev/null`,
      ]),
    );
    const [plainBigStreamMs] = await timed(() =>
      run('docker', ['run', '--rm', image, '/bin/sh', '-c', BIG_COMMAND], {
        maxBuffer: 1024 * 1024 * 1024,
      }),
    );
    await setCommand(backend, 'bench-big', BIG_COMMAND);
    const pid = backend.pid();
    const rssBefore = rssKiB(pid);
    let rssPeak = rssBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, rssKiB(pid));
        await new Promise(resolve => setTimeout(resolve, 50));
      }
    })();
    let received = 0;
    const [bigMs, big] = await timed(() =>
      runThroughApi(backend, 'bench-big', image, text => {
        received += Buffer.byteLength(text);
      }),
    );
    sampling = false;
    await sampler;
    const finished = await (await backend.api(`/runs/${big.id}`)).json();
    const lagMs = big.endedAt - Date.parse(finished.finishedAt);
    const stored = Buffer.byteLength(
      await (await backend.api(`/runs/${big.id}/logs`)).text(),
    );
    console.log(
      `Command printing ${(BIG_BYTES / 1e6).toFixed(0)} MB:\n` +
        `  docker run --rm, output discarded in the container: ${plainBigMs.toFixed(
          0,
        )} ms; streamed to the docker CLI: ${plainBigStreamMs.toFixed(
          0,
        )} ms\n` +
        `  through the API with a live follower: ${bigMs.toFixed(
          0,
        )} ms (ratio to docker run --rm streaming: ${(
          bigMs / plainBigStreamMs
        ).toFixed(2)})\n` +
        `  backend RSS: ${(rssBefore / 1024).toFixed(0)} MiB before, peak ${(
          rssPeak / 1024
        ).toFixed(0)} MiB (growth ${((rssPeak - rssBefore) / 1024).toFixed(
          0,
        )} MiB)\n` +
        `  follower: received ${(received / 1024 / 1024).toFixed(
          1,
        )} MiB (the stored, capped log is ${(stored / 1024 / 1024).toFixed(
          1,
        )} MiB) and saw the end ${lagMs} ms after the run finished`,
    );
  } finally {
    await backend.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
