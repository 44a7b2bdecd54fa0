/*
 * Benchmark: what deploys that print cost everyone else in the portal.
 *
 * The plugin shares its Node process with the catalog, auth and the
 * scaffolder; a probe keeps asking the backend for another entity's commands
 * (as the tab does) while, on SQLite and on PostgreSQL:
 *
 *  1. 20 deploys at once (cap 4) each run one command printing 20 MB of
 *     ordinary log lines, each followed live by one client; before them,
 *     the same 20 commands as `docker run --rm` (4 at once) streaming to the
 *     Docker CLI, the backend idle: what the engine alone costs the probe;
 *  2. one chatty run is followed by 100 clients (the tab open in 100
 *     browsers), and by 1 for comparison;
 *  3. a command printing 200 MB with one live follower, with no secrets and
 *     with 200, against `docker run --rm` of it streaming to the Docker CLI;
 *  4. a 10-step run against 10 sequential `docker run --rm`.
 *
 * It prints the probe's p50/p99/max against the same probe idle, the ratios
 * against `docker run --rm` measured in the same run, whether every follower
 * received the stored log byte for byte, the backend's RSS growth, and (on
 * PostgreSQL) database transactions per second. Run: bash bench/load.sh
 * (BENCH_DATABASES=sqlite,postgres, BENCH_SCENARIOS=load,followers,big,steps;
 * BENCH_SECRETS=0 leaves the runs with 200 secrets out; BENCH_TTY=0 runs the
 * commands without a terminal; BENCH_MAX_LOOP_LAG_MS sets
 * outputMaxLoopLagMs; BENCH_BIG_PROBE=1 also probes during the 200 MB runs;
 * BENCH_BIG_ROUNDS sets how many interleaved rounds of the 200 MB runs are
 * made, the best of each counting (2 by default);
 * BENCH_CPU_PROFILE=dir also profiles the backend and prints its top frames;
 * BENCH_NODE_OPTIONS passes Node options to the backend).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import knexFactory from 'knex';
import {
  BackendProcess,
  buildBusyboxImage,
  readServerSentEvents,
  requireDocker,
  startBackendProcess,
} from '../packages/test-utils/src';
import { cpuProfileTop, newestCpuProfile } from './cpuProfileTop';

const DATABASES = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(
  ',',
) as Array<'sqlite' | 'postgres'>;
const SCENARIOS = new Set(
  (process.env.BENCH_SCENARIOS ?? 'load,followers,big,steps').split(','),
);
/** BENCH_SECRETS=0 leaves out the runs with 200 secrets. */
const WITH_SECRETS = process.env.BENCH_SECRETS !== '0';
/**
 * BENCH_TTY=0 runs the commands without a pseudo-terminal
 * (`releaseCommands.docker.tty: false`); by default they get one, as the
 * plugin's default does.
 */
const TTY = process.env.BENCH_TTY !== '0';
/**
 * BENCH_MAX_LOOP_LAG_MS sets `releaseCommands.runs.outputMaxLoopLagMs` (0
 * never holds output); unset, the plugin's default applies.
 */
const MAX_LOOP_LAG_MS = process.env.BENCH_MAX_LOOP_LAG_MS;
/** BENCH_BIG_ROUNDS: how many times each 200 MB run is made (the best counts). */
const BIG_ROUNDS = Number(process.env.BENCH_BIG_ROUNDS ?? 2);
/** Where to write the backend's CPU profile, when one is wanted. */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
/**
 * The backend's Node options: BENCH_NODE_OPTIONS (for example
 * `--max-semi-space-size=64`), and the profiler's.
 */
const NODE_OPTIONS = [
  PROFILE_DIR && `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}`,
  process.env.BENCH_NODE_OPTIONS,
]
  .filter(Boolean)
  .join(' ');
const LINE =
  'INFO 2026-12-01 12:00:00,123 django.db.backends.schema: Applying shop.0042_price_history... OK';
/** A command that prints `bytes` of ordinary log lines. */
const printing = (bytes: number) => `yes '${LINE}' | head -c ${bytes}`;

/** 200 variables with values worth masking, as a deploy may pass. */
const manySecrets = () =>
  Object.fromEntries(
    Array.from({ length: 200 }, (_, i) => [
      `SECRET_${i}`,
      randomBytes(18).toString('base64url'),
    ]),
  );

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}
const ms = (value: number) => `${value.toFixed(1)} ms`;
const median = (values: number[]) => percentile(values, 50);

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - started) / 1e6, result];
}

function rssKiB(pid: number): number {
  // Not fatal: an uncaught error here would leave the backend running.
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Samples the backend's RSS until stopped; returns the peak growth in MiB. */
function rssSampler(pid: number) {
  const before = rssKiB(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
  }, 50);
  return () => {
    clearInterval(timer);
    return (Math.max(peak, rssKiB(pid)) - before) / 1024;
  };
}

/**
 * The probe's loop, in a thread of its own: the bench's main thread parses
 * the followers' event streams, and its delays must not count as the
 * backend's.
 */
const PROBE_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token } = workerData;
const latencies = [];
const errors = [];
let running = true;
parentPort.on('message', () => { running = false; });
(async () => {
  while (running) {
    const started = performance.now();
    try {
      const res = await fetch(url, { headers: { Authorization: 'Bearer ' + token } });
      await res.arrayBuffer();
      if (res.ok) latencies.push(performance.now() - started);
      else errors.push('HTTP ' + res.status);
    } catch (error) {
      // A failed request is a figure too (seen: ECONNRESET under load).
      errors.push(String(error.cause ?? error));
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  parentPort.postMessage({ latencies, errors });
})();
`;

/**
 * Asks for another entity's commands, one request after another, until
 * stopped: what a portal user waits for while the deploys print.
 */
function latencyProbe(backend: BackendProcess) {
  const worker = new Worker(PROBE_THREAD, {
    eval: true,
    workerData: {
      url: `${backend.baseUrl}/api/release-commands/entities/component/default/probe/commands`,
      token: backend.token,
    },
  });
  const result = new Promise<{ latencies: number[]; errors: string[] }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  return async () => {
    worker.postMessage('stop');
    const { latencies, errors } = await result;
    await worker.terminate();
    return Object.assign(latencies, { errors }) as number[] & {
      errors?: string[];
    };
  };
}

const describeLatencies = (latencies: number[] & { errors?: string[] }) =>
  `p50 ${ms(median(latencies))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(
    Math.max(...latencies),
  )} (${latencies.length} requests${
    latencies.errors?.length
      ? `, ${latencies.errors.length} failed: ${[
          ...new Set(latencies.errors),
        ].join('; ')}`
      : ''
  })`;

async function setCommands(
  backend: BackendProcess,
  entity: string,
  commands: Array<{ label: string; command: string }>,
) {
  // Commands are kept only for entities in the backend's catalog (a no-op
  // for names registered already).
  await backend.registerComponents([entity]);
  const path = `/entities/component/default/${entity}/commands`;
  const { revision } = await (await backend.api(path)).json();
  const res = await backend.api(path, {
    method: 'PUT',
    body: JSON.stringify({ revision, commands }),
  });
  if (!res.ok)
    throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

async function deploy(
  backend: BackendProcess,
  entity: string,
  image: string,
  env?: Record<string, string>,
): Promise<string> {
  const res = await backend.api(`/entities/component/default/${entity}/runs`, {
    method: 'POST',
    body: JSON.stringify({ image, env }),
  });
  const body = await res.json();
  if (res.status !== 202) throw new Error(`POST runs: ${JSON.stringify(body)}`);
  return body.id;
}

/** Follows a run's log to its end; the text received and the end status. */
async function follow(backend: BackendProcess, id: string) {
  const hash = createHash('sha256');
  let bytes = 0;
  let status: string | undefined;
  const res = await backend.api(`/runs/${id}/logs?follow=true`);
  for await (const event of readServerSentEvents(res)) {
    if (event.event === 'chunk') {
      const { text } = JSON.parse(event.data);
      hash.update(text);
      bytes += Buffer.byteLength(text);
    }
    if (event.event === 'end') status = JSON.parse(event.data).status;
  }
  return { sha256: hash.digest('hex'), bytes, status, endedAt: Date.now() };
}

async function storedLog(backend: BackendProcess, id: string) {
  const text = await (await backend.api(`/runs/${id}/logs`)).text();
  return {
    sha256: createHash('sha256').update(text).digest('hex'),
    bytes: Buffer.byteLength(text),
    cut: /This log was capped at/.test(text),
  };
}

/** Transactions committed in the backend's databases, for PostgreSQL. */
async function transactionCounter(prefix: string) {
  const knex = knexFactory({
    client: 'pg',
    connection:
      process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING,
  });
  const read = async () => {
    const { rows } = await knex.raw(
      `select coalesce(sum(xact_commit + xact_rollback), 0)::bigint as n
         from pg_stat_database where datname like ?`,
      [`${prefix}%`],
    );
    return Number(rows[0].n);
  };
  return {
    /** Transactions per second over `work`. */
    async over<T>(work: () => Promise<T>): Promise<[number, T]> {
      // The statistics collector reports with a delay of up to 0.5 s.
      await new Promise(resolve => setTimeout(resolve, 1000));
      const before = await read();
      const [took, result] = await timed(work);
      await new Promise(resolve => setTimeout(resolve, 1000));
      const after = await read();
      return [((after - before) * 1000) / took, result];
    },
    close: () => knex.destroy(),
  };
}

/** `docker run --rm` of a command, its output streamed to the Docker CLI. */
function dockerRun(
  image: string,
  command: string,
  options: { tty?: boolean } = {},
): Promise<number> {
  return timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          'docker',
          [
            'run',
            '--rm',
            ...(options.tty ? ['-t'] : []),
            '--network',
            'none',
            image,
            '/bin/sh',
            '-c',
            command,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        child.stdout.resume();
        child.on('error', reject);
        child.on('exit', code =>
          code === 0 ? resolve() : reject(new Error(`docker run: ${code}`)),
        );
      }),
  ).then(([took]) => took);
}

async function scenarioLoad(
  backend: BackendProcess,
  image: string,
  label: string,
  env?: Record<string, string>,
) {
  const DEPLOYS = 20;
  const BYTES = 20_000_000;
  const tag = randomBytes(3).toString('hex');
  const entities = Array.from(
    { length: DEPLOYS },
    (_, i) => `load-${tag}-${i}`,
  );
  // In the catalog in one batch rather than one by one in setCommands.
  await backend.registerComponents(entities);
  for (const entity of entities) {
    await setCommands(backend, entity, [
      { label: 'Print', command: printing(BYTES) },
    ]);
  }
  const stopIdle = latencyProbe(backend);
  await new Promise(resolve => setTimeout(resolve, 5000));
  const idle = await stopIdle();

  // The floor: the same commands as `docker run --rm` (4 at once, as the
  // cap), their output streamed to the Docker CLI, while the backend only
  // answers the probe. What the engine's own copying costs the portal.
  const stopFloor = latencyProbe(backend);
  const [plainTook] = await timed(async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < DEPLOYS) {
          next++;
          await dockerRun(image, printing(BYTES), { tty: TTY });
        }
      }),
    );
  });
  const floor = await stopFloor();

  const rss = rssSampler(backend.pid());
  const stopProbe = latencyProbe(backend);
  const [took, followed] = await timed(() =>
    Promise.all(
      entities.map(async entity => {
        const id = await deploy(backend, entity, image, env);
        return { id, ...(await follow(backend, id)) };
      }),
    ),
  );
  const loaded = await stopProbe();
  const growth = rss();
  let complete = 0;
  let cut = 0;
  for (const run of followed) {
    const stored = await storedLog(backend, run.id);
    // Cut at the cap, the stored log keeps less than a live follower saw.
    if (
      run.status === 'succeeded' &&
      (stored.cut ? run.bytes >= stored.bytes : run.sha256 === stored.sha256)
    ) {
      complete++;
    }
    if (stored.cut) cut++;
  }
  console.log(
    `  ${label}: ${DEPLOYS} deploys x ${BYTES / 1e6} MB at once, in ${(
      took / 1000
    ).toFixed(1)} s (${((DEPLOYS * BYTES) / 1e6 / (took / 1000)).toFixed(
      1,
    )} MB/s)\n` +
      `    probe idle:    ${describeLatencies(idle)}\n` +
      `    probe, the same commands as docker run --rm${
        TTY ? ' -t' : ''
      } (4 at once) instead, in ${(plainTook / 1000).toFixed(
        1,
      )} s (the deploys' ratio ${(took / plainTook).toFixed(
        2,
      )}): ${describeLatencies(floor)}\n` +
      `    probe loaded:  ${describeLatencies(loaded)} (goal p99 <= 50 ms)\n` +
      `    followers that saw the end and all that was kept: ${complete}/${DEPLOYS}; logs cut at the cap: ${cut}/${DEPLOYS}; RSS growth ${growth.toFixed(
        0,
      )} MiB`,
  );
  return { p99: percentile(loaded, 99), took };
}

async function scenarioFollowers(
  backend: BackendProcess,
  image: string,
  counter?: Awaited<ReturnType<typeof transactionCounter>>,
) {
  // Under the 10 MiB cap, so that every follower can match the stored log.
  const BYTES = 8_000_000;
  for (const followers of [1, 100]) {
    const entity = `followed-${randomBytes(3).toString('hex')}`;
    await setCommands(backend, entity, [
      { label: 'Print', command: printing(BYTES) },
    ]);
    const stopProbe = latencyProbe(backend);
    const work = async () => {
      const id = await deploy(backend, entity, image);
      const all = await Promise.all(
        Array.from({ length: followers }, () => follow(backend, id)),
      );
      return { id, all };
    };
    const [tps, { id, all }] = counter
      ? await counter.over(work)
      : [undefined, await work()];
    const latencies = await stopProbe();
    const stored = await storedLog(backend, id);
    const identical = all.filter(f => f.sha256 === stored.sha256).length;
    console.log(
      `  ${followers} follower(s) of one run printing ${
        BYTES / 1e6
      } MB: ${identical}/${followers} byte-identical to the stored log; probe ${describeLatencies(
        latencies,
      )}${
        tps === undefined ? '' : `; database ${tps.toFixed(0)} transactions/s`
      }`,
    );
  }
}

async function scenarioBig(backend: BackendProcess, image: string) {
  const BYTES = 200_000_000;
  const command = printing(BYTES);
  const entity = `big-${randomBytes(3).toString('hex')}`;
  await setCommands(backend, entity, [{ label: 'Print', command }]);
  const secrets = manySecrets();
  const results: Record<string, { took: number; growth: number }> = {};
  const plain = await dockerRun(image, command);
  // With a terminal the engine itself does more per byte (the kernel's line
  // discipline, one stream read off a pty): `docker run --rm -t` is the
  // like-for-like bar, printed next to the plain one.
  const plainTty = TTY ? await dockerRun(image, command, { tty: true }) : 0;
  const variants: Array<[string, Record<string, string> | undefined]> = [
    ['no secrets', undefined],
  ];
  if (WITH_SECRETS) variants.push(['200 secrets', secrets]);
  // Interleaved, the best of each: one run of each moved the masking cost
  // by 20 points from one bench to the next.
  const probed: Record<string, number[] & { errors?: string[] }> = {};
  for (let round = 0; round < BIG_ROUNDS; round++) {
    for (const [label, env] of variants) {
      const rss = rssSampler(backend.pid());
      const stopProbe = process.env.BENCH_BIG_PROBE
        ? latencyProbe(backend)
        : undefined;
      const [took] = await timed(async () => {
        const run = await follow(
          backend,
          await deploy(backend, entity, image, env),
        );
        if (run.status !== 'succeeded')
          throw new Error(`big run ${run.status}`);
      });
      if (stopProbe) {
        const latencies = await stopProbe();
        const all = (probed[label] ??= Object.assign([], { errors: [] }));
        all.push(...latencies);
        all.errors!.push(...(latencies.errors ?? []));
      }
      const growth = rss();
      console.log(
        `    round ${round + 1}, ${label}: ${(took / 1000).toFixed(
          2,
        )} s, RSS growth ${growth.toFixed(0)} MiB`,
      );
      const best = results[label];
      results[label] = {
        took: Math.min(best?.took ?? Infinity, took),
        growth: Math.max(best?.growth ?? 0, growth),
      };
    }
  }
  for (const [label, latencies] of Object.entries(probed)) {
    console.log(`    ${label} probe: ${describeLatencies(latencies)}`);
  }
  const plainAgain = await dockerRun(image, command);
  const baseline = Math.min(plain, plainAgain);
  const baselineTty = TTY
    ? Math.min(plainTty, await dockerRun(image, command, { tty: true }))
    : 0;
  console.log(
    `  ${BYTES / 1e6} MB with one live follower, ${
      TTY ? 'with' : 'without'
    } a terminal, best of ${BIG_ROUNDS} interleaved: docker run --rm streaming to its CLI ${(
      baseline / 1000
    ).toFixed(2)} s (best of 2)${
      TTY ? `, docker run --rm -t ${(baselineTty / 1000).toFixed(2)} s` : ''
    }\n` +
      Object.entries(results)
        .map(
          ([label, r]) =>
            `    ${label}: ${(r.took / 1000).toFixed(2)} s, ratio ${(
              r.took / baseline
            ).toFixed(2)} (goal <= 1.0)${
              TTY ? `, to -t ${(r.took / baselineTty).toFixed(2)}` : ''
            }, RSS growth ${r.growth.toFixed(0)} MiB`,
        )
        .join('\n') +
      (WITH_SECRETS
        ? `\n    cost of masking 200 secrets: ${(
            (results['200 secrets'].took / results['no secrets'].took - 1) *
            100
          ).toFixed(0)}% (goal <= 10%)`
        : ''),
  );
}

async function scenarioSteps(backend: BackendProcess, image: string) {
  const STEPS = 10;
  const ROUNDS = 5;
  const entity = `steps-${randomBytes(3).toString('hex')}`;
  await setCommands(
    backend,
    entity,
    Array.from({ length: STEPS }, (_, i) => ({
      label: `Step ${i + 1}`,
      command: `echo step ${i + 1}`,
    })),
  );
  const plain: number[] = [];
  const api: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const [plainMs] = await timed(async () => {
      for (let i = 0; i < STEPS; i++)
        await dockerRun(image, `echo step ${i + 1}`);
    });
    const [apiMs] = await timed(async () => {
      const run = await follow(backend, await deploy(backend, entity, image));
      if (run.status !== 'succeeded') throw new Error(`steps ${run.status}`);
    });
    // The first round warms both up.
    if (round > 0) {
      plain.push(plainMs);
      api.push(apiMs);
    }
  }
  console.log(
    `  a ${STEPS}-step run, ${ROUNDS} rounds interleaved: ${STEPS} x docker run --rm median ${ms(
      median(plain),
    )}, through the API median ${ms(median(api))}, ratio ${(
      median(api) / median(plain)
    ).toFixed(2)} (goal <= 1.05)`,
  );
}

async function main() {
  const docker = await requireDocker();
  const image = await buildBusyboxImage(docker);
  for (const database of DATABASES) {
    const prefix = `rc_bench_${randomBytes(3).toString('hex')}_`;
    const backend = await startBackendProcess({
      database,
      databasePrefix: database === 'postgres' ? prefix : undefined,
      releaseCommands: {
        docker: { tty: TTY },
        runs: {
          maxConcurrent: 4,
          ...(MAX_LOOP_LAG_MS === undefined
            ? {}
            : { outputMaxLoopLagMs: Number(MAX_LOOP_LAG_MS) }),
        },
      },
      wrapper: NODE_OPTIONS
        ? ['env', `NODE_OPTIONS=${NODE_OPTIONS}`]
        : undefined,
    });
    const counter =
      database === 'postgres' ? await transactionCounter(prefix) : undefined;
    try {
      await setCommands(backend, 'probe', [
        { label: 'Migrate', command: 'python manage.py migrate' },
        { label: 'Check', command: 'python manage.py check --deploy' },
      ]);
      console.log(`${database}:`);
      if (SCENARIOS.has('load')) {
        const plain = await scenarioLoad(backend, image, 'no secrets');
        if (WITH_SECRETS) {
          const masked = await scenarioLoad(
            backend,
            image,
            '200 secrets',
            manySecrets(),
          );
          console.log(
            `    cost of masking 200 secrets: p99 ${(
              (masked.p99 / plain.p99 - 1) *
              100
            ).toFixed(0)}%, time ${(
              (masked.took / plain.took - 1) *
              100
            ).toFixed(0)}% (goal <= 10%)`,
          );
        }
      }
      if (SCENARIOS.has('followers')) {
        await scenarioFollowers(backend, image, counter);
      }
      if (SCENARIOS.has('big')) await scenarioBig(backend, image);
      if (SCENARIOS.has('steps')) await scenarioSteps(backend, image);
    } finally {
      await counter?.close();
      await backend.stop();
    }
    const profile = PROFILE_DIR && newestCpuProfile(PROFILE_DIR);
    if (profile) {
      console.log(`  backend CPU profile ${profile}`);
      for (const line of cpuProfileTop(profile)) console.log(`    ${line}`);
    }
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
