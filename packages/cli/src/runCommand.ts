import {
  CreateRunRequest,
  plural,
  ReleaseCommandRun,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Command, Option } from 'commander';
import readline from 'node:readline';
import { CliError, ExitCode, report, Verdict } from './CliError';
import {
  BackendConnection,
  connectToBackend,
  describeRequestError,
  requestFailure,
  responseStatus,
} from './connectToBackend';
import { describeRunPlan } from './describeRunPlan';
import { createLogPrinter, LogPrinter } from './LogPrinter';
import { parseRunFlags, RunFlags } from './parseRunFlags';
import { waitForVerdict } from './waitForVerdict';
import { StopRequests } from './StopRequests';
import { collect, printJson } from './output';
import { runPlanVerdict } from './runVerdict';

type RunCommandFlags = RunFlags & { json?: boolean; dryRun?: boolean };

/** `release-commands run`: the deploy gate. */
export function addRunCommand(program: Command) {
  program
    .command('run')
    .description(
      "Run an entity's release commands on a new image and wait for the verdict: exit 0 passed, 1 did not pass, 2 usage or configuration error, 3 outcome unknown",
    )
    .requiredOption('--entity <ref>', 'the catalog entity, kind:namespace/name')
    .requiredOption(
      '--image <ref>',
      'the image about to be deployed, e.g. registry.example.com/shop:1.4.2',
    )
    .option(
      '--env <KEY=VALUE>',
      'a variable for the commands, masked in the log (repeatable); KEY alone passes it from this environment',
      collect,
    )
    .option(
      '--env-file <file>',
      'KEY=VALUE lines (dotenv style) to pass as variables (repeatable; --env wins)',
      collect,
    )
    .option(
      '--environment <name>',
      'the deploy environment, e.g. production (one run at a time per entity and environment)',
    )
    .option(
      '--timeout <duration>',
      'stop waiting after this long (seconds, or 90s, 15m, 1h): the run is cancelled and the exit code is 1',
    )
    .option(
      '--json',
      'print the final run as JSON on stdout; the log goes to stderr (with --dry-run, the plan)',
    )
    .addOption(
      // A check waits for no run, so there is nothing for --timeout to end.
      new Option(
        '--dry-run',
        "check only: print what a run would do (each step's executable as found in the image) and what would stop it; exit 0 ready, 1 not; nothing is started",
      ).conflicts('timeout'),
    )
    .addOption(
      // How long a lost backend is retried before exit 3 (default 30s);
      // also RELEASE_COMMANDS_RECONNECT_SECONDS.
      new Option('--reconnect-timeout <duration>').hideHelp(),
    )
    .action(async (flags: RunCommandFlags, command: Command) => {
      const globals = command.optsWithGlobals<{ url?: string }>();
      report(
        await (flags.dryRun
          ? checkReleaseCommands(flags, globals)
          : runReleaseCommands(flags, globals)),
      );
    });
}

/** `run --dry-run`: the plan on stdout, its verdict as exit code. */
async function checkReleaseCommands(
  flags: RunCommandFlags,
  globals: { url?: string },
): Promise<Verdict> {
  const request = parseRunFlags(flags);
  const backend = connectToBackend(globals);
  const plan = await backend.client
    .checkRun(request.entityRef, request.body)
    .catch(error => {
      throw requestFailure(
        error,
        backend,
        `check a run of ${request.entityRef}`,
      );
    });
  if (flags.json) {
    printJson(plan);
  } else {
    process.stdout.write(describeRunPlan(plan));
  }
  return runPlanVerdict(plan);
}

async function runReleaseCommands(
  flags: RunCommandFlags,
  globals: { url?: string },
): Promise<Verdict> {
  const request = parseRunFlags(flags);
  const backend = connectToBackend(globals);
  const stops = new StopRequests({ timeoutMs: request.timeoutMs });
  try {
    const starting = startRun(backend, request.entityRef, request.body);
    starting.catch(() => {}); // Raced below; its failure is read there.
    const run = await Promise.race([
      starting,
      stops.stopped.then(() => undefined),
    ]);
    if (!run) {
      return {
        exitCode: ExitCode.unknown,
        message: `${stops.reason} before the backend answered the request to start a run: a run of ${request.entityRef} may have started; look at its runs before deploying.`,
      };
    }
    const { verdict, finalRun } = await followRun(backend, run, stops, {
      json: flags.json,
      reconnectMs: request.reconnectMs,
    });
    if (flags.json) {
      printJson({
        run: finalRun ?? run,
        exitCode: verdict.exitCode,
        message: verdict.message,
      });
    }
    return verdict;
  } finally {
    stops.dispose();
  }
}

async function startRun(
  backend: BackendConnection,
  entityRef: string,
  body: CreateRunRequest,
): Promise<ReleaseCommandRun> {
  try {
    return await backend.client.createRun(entityRef, body);
  } catch (error) {
    if (responseStatus(error) === 409) {
      // Another deploy of the same entity and environment is running its
      // commands: nothing started, and this deploy must not go on.
      throw new CliError(
        ExitCode.failed,
        `no run started: ${describeRequestError(
          error,
        )}. The deployment must not proceed.`,
      );
    }
    throw requestFailure(error, backend, `start a run of ${entityRef}`);
  }
}

/**
 * Prints the started run's log to its verdict, cancelling it when asked to,
 * and the image its steps ran; returns the verdict with the run as it ended
 * (when the backend still answers).
 */
async function followRun(
  backend: BackendConnection,
  run: ReleaseCommandRun,
  stops: StopRequests,
  options: { json?: boolean; reconnectMs: number },
): Promise<{ verdict: Verdict; finalRun?: ReleaseCommandRun }> {
  const printer = createLogPrinter(run, options);
  const ended = new AbortController();
  try {
    printer.note(
      `started run ${run.id} of ${run.entityRef} on ${run.image} (${plural(
        run.steps.length,
        'command',
      )}, environment ${run.environment})`,
    );
    if (process.stdin.isTTY && process.stderr.isTTY) {
      stops.ask = () =>
        askYesNo(`Cancel run ${run.id}? [y/N] `, {
          printer,
          stops,
          ended: ended.signal,
        });
    }
    void stops.stopped.then(cause =>
      cancelRun(backend, run.id, cause, printer),
    );
    const verdict = await waitForVerdict(backend, run, {
      printer,
      reconnectMs: options.reconnectMs,
      leave: stops.leave,
      stoppedBy: () => stops.reason,
    });
    const finalRun = await backend.client.getRun(run.id).catch(() => undefined);
    if (finalRun?.imageId) {
      // What to deploy, if the tag may move: the image the commands ran.
      printer.note(
        `every step ran image ${finalRun.imageId}${
          finalRun.imageDigest ? ` (${finalRun.imageDigest})` : ''
        }`,
      );
    }
    return { verdict, finalRun };
  } finally {
    ended.abort();
    printer.close();
  }
}

async function cancelRun(
  backend: BackendConnection,
  runId: string,
  cause: string,
  printer: LogPrinter,
) {
  printer.note(`${cause}: cancelling run ${runId}`);
  try {
    await backend.client.cancelRun(runId);
  } catch (error) {
    // 409: it ended first, and its own verdict stands.
    if (responseStatus(error) !== 409) {
      printer.note(
        `could not cancel run ${runId}: ${describeRequestError(error)}`,
      );
    }
  }
}

/**
 * Asks on the terminal, holding the log back meanwhile. Ctrl-C again leaves
 * at once; the question goes away unanswered if the run ends first.
 */
function askYesNo(
  question: string,
  context: { printer: LogPrinter; stops: StopRequests; ended: AbortSignal },
): Promise<boolean> {
  const { printer, stops, ended } = context;
  printer.hold();
  return new Promise<boolean>(resolve => {
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stderr,
    });
    let answered = false;
    const close = () => rl.close();
    ended.addEventListener('abort', close);
    rl.on('SIGINT', () => {
      rl.close();
      stops.giveUp('SIGINT');
    });
    rl.on('close', () => {
      ended.removeEventListener('abort', close);
      if (!answered) process.stderr.write('\n');
      resolve(false);
    });
    rl.question(question, answer => {
      answered = true;
      resolve(/^y(es)?$/i.test(answer.trim()));
      rl.close();
    });
  }).finally(() => printer.release());
}
