import { ResponseError } from '@backstage/errors';
import {
  ReleaseCommandsClient,
  RunLogChunk,
} from '@internal/backstage-plugin-release-commands-common';
import { followRunLog } from './followRunLog';

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
});
