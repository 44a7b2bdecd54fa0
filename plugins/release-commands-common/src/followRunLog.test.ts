import { ResponseError } from '@backstage/errors';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { followRunLog } from './followRunLog';
import { ReleaseCommandsClient } from './ReleaseCommandsClient';
import { RunLogChunk } from './runs';

const chunk = (seq: number): RunLogChunk => ({
  seq,
  step: 1,
  stream: 'stdout',
  at: '2025-01-01T00:00:00.000Z',
  text: `line ${seq}\n`,
});

/** A client whose log streams play the given scripts, one per request. */
function clientPlaying(
  ...streams: Array<
    (options: { after?: number; onChunk(c: RunLogChunk): void }) => Promise<any>
  >
) {
  const requests: Array<number | undefined> = [];
  const client = {
    followLog: async (_id: string, options: any) => {
      requests.push(options.after);
      const stream = streams.shift();
      if (!stream) throw new Error('no more streams');
      return stream(options);
    },
  } as unknown as ReleaseCommandsClient;
  return { client, requests };
}

describe('followRunLog', () => {
  it('resumes after the last chunk seen when the stream breaks, so no line is lost or repeated', async () => {
    const { client, requests } = clientPlaying(
      async ({ onChunk }) => {
        onChunk(chunk(1));
        onChunk(chunk(2));
        throw new TypeError('terminated');
      },
      async () => {
        throw new TypeError('fetch failed');
      },
      async ({ onChunk }) => {
        onChunk(chunk(3));
        return { status: 'succeeded', reason: null };
      },
    );
    const seen: number[] = [];
    const reconnects: number[] = [];

    const end = await followRunLog(client, 'run-1', {
      onChunk: c => seen.push(c.seq),
      onReconnect: (_, attempt) => reconnects.push(attempt),
    });

    expect(end).toEqual({ status: 'succeeded', reason: null });
    expect(seen).toEqual([1, 2, 3]);
    expect(requests).toEqual([undefined, 2, 2]);
    expect(reconnects).toEqual([1, 2]);
  });

  it('does not retry a refusal', async () => {
    const refusal = await ResponseError.fromResponse(
      new Response(
        JSON.stringify({
          error: { name: 'NotAllowedError', message: 'Not allowed' },
          response: { statusCode: 403 },
        }),
        {
          status: 403,
          statusText: 'Forbidden',
          headers: { 'Content-Type': 'application/json' },
        },
      ),
    );
    const { client, requests } = clientPlaying(async () => {
      throw refusal;
    });

    await expect(
      followRunLog(client, 'run-1', { onChunk: () => {} }),
    ).rejects.toBe(refusal);
    expect(requests).toEqual([undefined]);
  });

  it('gives up on a stream that goes silent, then resumes after the last chunk', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url!);
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      if (requests.length === 1) {
        // One chunk, then silence: no keep-alive, no end.
        res.write(`id: 0\nevent: chunk\ndata: ${JSON.stringify(chunk(0))}\n\n`);
        return;
      }
      res.write(`id: 1\nevent: chunk\ndata: ${JSON.stringify(chunk(1))}\n\n`);
      res.end(
        `event: end\ndata: ${JSON.stringify({
          status: 'succeeded',
          reason: null,
        })}\n\n`,
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new ReleaseCommandsClient({
      baseUrl: async () => `http://127.0.0.1:${port}`,
    });
    const seen: number[] = [];
    const reconnects: string[] = [];
    try {
      const end = await followRunLog(client, 'run-1', {
        idleTimeoutMs: 300,
        onChunk: c => seen.push(c.seq),
        onReconnect: error => reconnects.push(String(error)),
      });
      expect(end).toEqual({ status: 'succeeded', reason: null });
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(seen).toEqual([0, 1]);
    expect(reconnects).toEqual([
      'Error: No data from the log stream of run run-1 for 300 ms',
    ]);
    expect(requests).toEqual([
      '/runs/run-1/logs?follow=true',
      '/runs/run-1/logs?follow=true&after=0',
    ]);
  });
});
