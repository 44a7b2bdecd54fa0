import { ResponseError } from '@backstage/errors';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  ReleaseCommandsClient,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import { buildBusyboxImage, requireDocker } from '@release-commands/test-utils';
import { AddressInfo } from 'node:net';
import { startPlugin } from '../__testUtils__/startPlugin';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(60_000);

/** The shared client against the real plugin and a real engine. */
describe('ReleaseCommandsClient', () => {
  let image: string;

  beforeAll(async () => {
    image = await buildBusyboxImage(await requireDocker());
  });

  async function setUp() {
    const api = await startPlugin({
      config: {
        releaseCommands: {
          docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
        },
      },
    });
    const { port } = api.server.address() as AddressInfo;
    const client = new ReleaseCommandsClient({
      baseUrl: async () => `http://127.0.0.1:${port}/api/release-commands`,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: {
            ...(init?.headers as Record<string, string>),
            Authorization: mockCredentials.user.header('user:default/ada'),
          },
        }),
    });
    return { api, client };
  }

  it('edits commands, runs them, follows and resumes the log, and reports refusals', async () => {
    const { api, client } = await setUp();
    const ref = 'component:default/shop';
    const appended = await client.appendCommand(ref, {
      label: 'Count',
      command: 'for i in 1 2 3; do echo "line $i"; sleep 0.2; done',
    });
    expect(appended).toMatchObject({ created: true, revision: 1 });
    const list = await client.getCommands(ref);
    expect(list.commands.map(c => c.label)).toEqual(['Count']);
    await expect(
      client.replaceCommands(ref, { revision: 0, commands: [] }),
    ).rejects.toMatchObject({
      name: 'ResponseError',
      body: { error: { name: 'ConflictError' } },
    });
    expect((await client.getPresets()).map(p => p.id)).toContain('django');

    const run = await client.createRun(ref, { image });
    const chunks: RunLogChunk[] = [];
    const end = await client.followLog(run.id, {
      onChunk: chunk => chunks.push(chunk),
    });
    expect(end).toEqual({ status: 'succeeded', reason: null });
    const text = chunks.map(c => c.text).join('');
    expect(text).toContain('line 1\n');
    expect(text).toBe(await client.getLogText(run.id));

    const resumed: RunLogChunk[] = [];
    await client.followLog(run.id, {
      after: chunks[1].seq,
      onChunk: chunk => resumed.push(chunk),
    });
    expect(resumed).toEqual(chunks.slice(2));

    const page = await client.listRuns(ref, { limit: 1 });
    expect(page.runs.map(r => r.id)).toEqual([run.id]);
    const error = await client.cancelRun(run.id).catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.body.error.message).toMatch(/already ended/);
    await expect(client.getCommands('shop')).rejects.toThrow(
      /entityRef must be an entity ref of the form kind:namespace\/name/,
    );
    await api.stop();
  });
});
