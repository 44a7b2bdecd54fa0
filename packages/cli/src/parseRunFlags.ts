import {
  CreateRunRequest,
  createRunRequestSchema,
  entityRefSchema,
} from '@release-commands/backstage-plugin-release-commands-common';
import fs from 'node:fs';
import { usageError } from './CliError';
import { describeFlagErrors } from './describeFlagErrors';

/** The flags of `release-commands run`, as commander gives them. */
export type RunFlags = {
  entity: string;
  image: string;
  env?: string[];
  envFile?: string[];
  environment?: string;
  timeout?: string;
  reconnectTimeout?: string;
};

/** A checked `run` request: nothing is sent until all of it is valid. */
export type RunRequest = {
  entityRef: string;
  body: CreateRunRequest;
  /** Overall wait; when it passes, the run is cancelled. */
  timeoutMs?: number;
  /** How long to try to reach a lost backend before exit 3. */
  reconnectMs: number;
};

const DEFAULT_RECONNECT_SECONDS = 30;

/**
 * Checks the flags of `run` with the API's own schemas, so a mistake is an
 * exit 2 naming the flag before anything reaches the backend.
 */
export function parseRunFlags(
  flags: RunFlags,
  environ: NodeJS.ProcessEnv = process.env,
): RunRequest {
  const entity = entityRefSchema.safeParse(flags.entity);
  if (!entity.success) {
    throw usageError(`--entity ${entity.error.issues[0].message}`);
  }
  const env: Record<string, string> = {};
  for (const file of flags.envFile ?? []) {
    Object.assign(env, readEnvFile(file));
  }
  for (const item of flags.env ?? []) {
    const [name, value] = parseEnvFlag(item, environ);
    env[name] = value;
  }
  const body = createRunRequestSchema.safeParse({
    image: flags.image,
    env: Object.keys(env).length > 0 ? env : undefined,
    environment: flags.environment,
  });
  if (!body.success) {
    throw usageError(
      describeFlagErrors(body.error, {
        image: '--image',
        env: '--env',
        environment: '--environment',
      }),
    );
  }
  return {
    entityRef: entity.data,
    body: body.data,
    timeoutMs:
      flags.timeout === undefined ? undefined : parseTimeout(flags.timeout),
    reconnectMs: parseReconnectTimeout(flags.reconnectTimeout, environ),
  };
}

/**
 * How long to try to reach a lost backend before giving up (exit 3): the
 * hidden `--reconnect-timeout`, else `RELEASE_COMMANDS_RECONNECT_SECONDS`.
 */
export function parseReconnectTimeout(
  flag: string | undefined,
  environ: NodeJS.ProcessEnv = process.env,
): number {
  const value = flag ?? environ.RELEASE_COMMANDS_RECONNECT_SECONDS;
  return value === undefined
    ? DEFAULT_RECONNECT_SECONDS * 1000
    : parseDuration(value, '--reconnect-timeout');
}

// The longest a Node.js timer can wait; longer ones fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

function parseTimeout(value: string): number {
  const ms = parseDuration(value, '--timeout');
  if (ms > MAX_TIMER_MS) {
    throw usageError(
      `--timeout must be at most ${Math.floor(
        MAX_TIMER_MS / 3_600_000,
      )}h, got "${value}"`,
    );
  }
  return ms;
}

/** `90`, `90s`, `10m`, `1h`, `1.5h`: a positive duration in milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  const units = { s: 1000, m: 60_000, h: 3_600_000 };
  const ms = match
    ? Number(match[1]) * units[(match[2] ?? 's') as keyof typeof units]
    : NaN;
  if (!(ms > 0)) {
    throw usageError(
      `${flag} must be a positive duration in seconds (or with s, m or h, e.g. 90, 10m, 1h), got "${value}"`,
    );
  }
  return ms;
}

/** `KEY=VALUE`, or `KEY` alone to pass the variable from this environment. */
function parseEnvFlag(
  item: string,
  environ: NodeJS.ProcessEnv,
): [string, string] {
  const eq = item.indexOf('=');
  if (eq > 0) return [item.slice(0, eq), item.slice(eq + 1)];
  if (eq === 0 || item === '') {
    throw usageError(`--env "${item}" must be KEY=VALUE or the name KEY`);
  }
  const value = environ[item];
  if (value === undefined) {
    throw usageError(
      `--env ${item}: ${item} is not set in this environment (give --env ${item}=VALUE, or export it)`,
    );
  }
  return [item, value];
}

/**
 * A dotenv-style file: `KEY=VALUE` lines, `#` comments, an optional
 * `export `, values optionally in single or double quotes (no expansion).
 */
export function readEnvFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(
      `--env-file ${file} cannot be read: ${(error as Error).message}`,
    );
  }
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw usageError(
        `--env-file ${file} line ${index + 1} must be KEY=VALUE`,
      );
    }
    const quoted = /^(["'])(.*)\1$/.exec(match[2]);
    env[match[1]] = quoted ? quoted[2] : match[2];
  });
  return env;
}
