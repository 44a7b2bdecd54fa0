import { subscribe } from 'node:diagnostics_channel';
import { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Node's channel for every request the HTTP servers of this process take. */
const REQUEST_START = 'http.server.request.start';

/**
 * A run's log read (`GET .../runs/:id/logs`, followed or not): its reader
 * waits for the output itself, which holding it back would only slow.
 */
const LOG_READ = /^\/api\/release-commands\/runs\/[^/?]+\/logs(?:\?|$)/;

/** When the portal last took a request that someone waits for. */
export type PortalRequests = {
  /** How long ago, in ms; Infinity when none came yet. */
  sinceLastMs(): number;
};

let lastRequestAt = -Infinity;
let watching = false;

/**
 * When this process's HTTP servers (the catalog's, auth's, every plugin's)
 * last took a request other than a read of a run's log. One subscriber per
 * process, which notes the time of each request: nothing more per request.
 */
export function portalRequests(): PortalRequests {
  if (!watching) {
    watching = true;
    subscribe(REQUEST_START, message => {
      const { request } = message as { request?: IncomingMessage };
      if (request?.url && LOG_READ.test(request.url)) return;
      lastRequestAt = performance.now();
    });
  }
  return { sinceLastMs: () => performance.now() - lastRequestAt };
}
