import {
  describeError,
  ReleaseCommandsClient,
} from '@release-commands/backstage-plugin-release-commands-common';
import { ResponseError } from '@backstage/errors';
import { CliError, ExitCode, usageError } from './CliError';

export const DEFAULT_BACKEND_URL = 'http://localhost:7007';

/** The backend a command talks to. */
export type BackendConnection = {
  /** The backend's base URL, without a trailing slash. */
  url: string;
  client: ReleaseCommandsClient;
};

/** `--url`, else `RELEASE_COMMANDS_URL`, else the local default; checked. */
export function resolveBackendUrl(flag: string | undefined): string {
  const value = flag ?? process.env.RELEASE_COMMANDS_URL ?? DEFAULT_BACKEND_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(
      `the backend URL "${value}" is not a URL: set RELEASE_COMMANDS_URL or --url to e.g. https://backstage.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(
      `the backend URL "${value}" must start with http:// or https://`,
    );
  }
  return value.replace(/\/+$/, '');
}

/**
 * A client for the release-commands API that sends the token from
 * `RELEASE_COMMANDS_TOKEN` and notes every sign of life from the backend,
 * so a follower can tell a quiet run from a lost connection.
 */
export function connectToBackend(options: { url?: string }): BackendConnection {
  const url = resolveBackendUrl(options.url);
  const token = process.env.RELEASE_COMMANDS_TOKEN?.trim();
  if (!token) {
    throw usageError(
      'RELEASE_COMMANDS_TOKEN is not set: give it a token the backend accepts (a backend.auth.externalAccess token)',
    );
  }
  const fetchWithToken: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };

  return {
    url,
    client: new ReleaseCommandsClient({
      baseUrl: async () => `${url}/api/release-commands`,
      fetch: fetchWithToken,
    }),
  };
}

/** The status of a refusal by the backend, if it was one. */
export function responseStatus(error: unknown): number | undefined {
  return ResponseError.is(error) ? error.statusCode : undefined;
}

/**
 * What went wrong, in a few words, with the status of a refusal:
 * `401 Illegal token`, `fetch failed: ECONNREFUSED`.
 */
export function describeRequestError(error: unknown): string {
  const status = responseStatus(error);
  const what = describeError(error);
  return status === undefined ? what : `${status} ${what}`;
}

// Failures to connect at all: the request was never sent.
const UNREACHED =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)$|CERT|TLS|SSL|bad port/i;

/**
 * The exit code and message for a request that failed before any run was
 * seen: a refusal or an unreachable backend is the pipeline's configuration
 * (exit 2); a backend that failed inside, or a connection that broke once
 * the request was sent, leaves it unknown whether it was carried out (exit 3).
 */
export function requestFailure(
  error: unknown,
  backend: { url: string },
  doing: string,
): CliError {
  if (error instanceof CliError) return error;
  const status = responseStatus(error);
  const what = describeRequestError(error);
  if (status === 401) {
    return usageError(
      `the backend refused the token (${what}): check RELEASE_COMMANDS_TOKEN; it must be one of the backend's backend.auth.externalAccess tokens`,
    );
  }
  if (status === 403) {
    return usageError(
      `the backend refused to ${doing} (${what}): the token lacks the permission, or its accessRestrictions do not include the release-commands plugin`,
    );
  }
  if (status !== undefined && status >= 500) {
    return new CliError(
      ExitCode.unknown,
      `the backend failed to ${doing} at ${backend.url} (${what})`,
    );
  }
  if (status !== undefined) {
    return usageError(`could not ${doing}: ${what}`);
  }
  const cause = (error as { cause?: { code?: string; message?: string } })
    ?.cause;
  if (!UNREACHED.test(cause?.code ?? cause?.message ?? '')) {
    return new CliError(
      ExitCode.unknown,
      `the connection to ${backend.url} broke while trying to ${doing} (${what}): it may or may not have been done`,
    );
  }
  return usageError(
    `cannot reach the backend at ${backend.url} to ${doing} (${what}): check RELEASE_COMMANDS_URL or --url`,
  );
}
