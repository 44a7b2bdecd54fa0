import { once } from 'node:events';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { portalRequests } from './PortalRequests';

describe('portalRequests', () => {
  it("notes each request the process's HTTP servers take, but not reads of a run's log", async () => {
    const requests = portalRequests();
    const server = http.createServer((_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const get = async (path: string) =>
      (await fetch(`http://127.0.0.1:${port}${path}`)).text();
    /** Bounds in this order, so that each holds whatever the timing. */
    const notedDuring = (since: number) => {
      const noted = requests.sinceLastMs();
      return noted <= performance.now() - since;
    };
    const notedBefore = (until: number) => {
      const bound = performance.now() - until;
      return requests.sinceLastMs() >= bound;
    };
    try {
      const beforeCatalog = performance.now();
      await get('/api/catalog/entities');
      const afterCatalog = performance.now();
      expect(notedDuring(beforeCatalog)).toBe(true);

      await get('/api/release-commands/runs/r-1/logs?follow=true');
      await get('/api/release-commands/runs/r-1/logs');
      // Still the catalog's request.
      expect(notedBefore(afterCatalog)).toBe(true);

      // Anything else of the plugin counts.
      const beforeRun = performance.now();
      await get('/api/release-commands/runs/r-1');
      expect(notedDuring(beforeRun)).toBe(true);
    } finally {
      server.close();
    }
  });
});
