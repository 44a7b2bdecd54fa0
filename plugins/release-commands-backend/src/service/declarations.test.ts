import { Entity } from '@backstage/catalog-model';
import {
  CommandDeclarations,
  ReleaseCommandRun,
  RELEASE_COMMANDS_FILE_ANNOTATION,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  buildBusyboxImage,
  createTestDatabases,
  requireDocker,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startPlugin } from '../__testUtils__/startPlugin';

// Real containers and backends on a shared 2-CPU CI machine: a safety net, not
// a timing assertion.
jest.setTimeout(120_000);

const { databases, ids } = createTestDatabases();

const DECLARED = `position: before
commands:
  - label: Migrate database
    command: echo migrating from the repository
    timeoutSeconds: 600
`;

const sha256 = (text: string) =>
  `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** A host that serves one file, answering 304 to a matching If-None-Match. */
async function startFileHost() {
  const host = {
    text: DECLARED,
    reads: 0,
    notModified: 0,
    url: '',
    server: http.createServer((req, res) => {
      host.reads += 1;
      if (req.url !== '/acme/shop/release-commands.yaml') {
        res.writeHead(404).end('no such file');
        return;
      }
      const etag = `"${sha256(host.text)}"`;
      if (req.headers['if-none-match'] === etag) {
        host.notModified += 1;
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(200, { etag, 'content-type': 'text/yaml' }).end(host.text);
    }),
  };
  await new Promise<void>(resolve =>
    host.server.listen(0, '127.0.0.1', resolve),
  );
  host.url = `http://localhost:${(host.server.address() as AddressInfo).port}`;
  return host;
}

describe.each(ids)('declared commands on %p', databaseId => {
  const suffix = databaseId.toLowerCase();
  const local = `declared-local-${suffix}`;
  const remote = `declared-remote-${suffix}`;
  const labelled = `declared-image-${suffix}`;
  const broken = `declared-broken-image-${suffix}`;
  let docker: Docker;
  let image: string;
  let labelledImage: string;
  let brokenImage: string;
  let folder: string;
  let fileHost: Awaited<ReturnType<typeof startFileHost>>;
  let api: Awaited<ReturnType<typeof startPlugin>>;

  const entity = (name: string, annotations: Record<string, string>) =>
    ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-of-${name}`,
        annotations,
      },
      spec: { type: 'service', lifecycle: 'production', owner: 'team' },
    } satisfies Entity);

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    labelledImage = await buildBusyboxImage(docker, {
      tag: 'release-commands-test/declaring:1',
      instructions: [
        `LABEL release-commands/commands='{"position":"after","commands":[{"label":"Warm caches","command":"echo warming from the image"}]}'`,
      ],
    });
    brokenImage = await buildBusyboxImage(docker, {
      tag: 'release-commands-test/declaring-broken:1',
      instructions: [
        `LABEL release-commands/commands='{"commands":[{"label":"No command"}]}'`,
      ],
    });
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'declared-'));
    fs.writeFileSync(path.join(folder, 'release-commands.yaml'), DECLARED);
    fileHost = await startFileHost();
    const knex = await databases.init(databaseId);
    api = await startPlugin({
      knex,
      config: {
        backend: {
          reading: { allow: [{ host: new URL(fileHost.url).host }] },
        },
        releaseCommands: { docker: { networkMode: 'none' } },
      },
      entities: [
        entity(local, {
          'backstage.io/managed-by-location': `file:${folder}/catalog-info.yaml`,
          [RELEASE_COMMANDS_FILE_ANNOTATION]: './release-commands.yaml',
        }),
        entity(remote, {
          [RELEASE_COMMANDS_FILE_ANNOTATION]: `url:${fileHost.url}/acme/shop/release-commands.yaml`,
        }),
        entity(labelled, {}),
        entity(broken, {}),
      ],
    });
  });

  afterAll(async () => {
    await api?.stop();
    await new Promise(resolve => fileHost?.server.close(resolve));
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  const entityPath = (name: string) => `/entities/component/default/${name}`;

  async function declared(name: string): Promise<CommandDeclarations> {
    return (await api.get(`${entityPath(name)}/commands/declared`).expect(200))
      .body;
  }

  async function setOwnCommands(name: string, commands: object[]) {
    const { body: list } = await api
      .get(`${entityPath(name)}/commands`)
      .expect(200);
    await api
      .put(`${entityPath(name)}/commands`, {
        revision: list.revision,
        commands,
      })
      .expect(200);
  }

  async function deploy(
    name: string,
    runImage = image,
  ): Promise<{ created: ReleaseCommandRun; ended: ReleaseCommandRun }> {
    const { body: created } = await api
      .post(`${entityPath(name)}/runs`, { image: runImage })
      .expect(202);
    const until = Date.now() + 60_000;
    for (;;) {
      const { body } = await api.get(`/runs/${created.id}`).expect(200);
      if (!['queued', 'running'].includes(body.status)) {
        return { created, ended: body };
      }
      if (Date.now() > until) throw new Error(`run ${created.id} did not end`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  const logOf = async (runId: string) =>
    (await api.get(`/runs/${runId}/logs`).expect(200)).text;

  const containersOf = async (name: string) =>
    docker.listContainers({
      all: true,
      filters: {
        label: [`org.release-commands.entity=component:default/${name}`],
      },
    });

  it('lists the commands a file beside the entity declares, and runs them in their position', async () => {
    await setOwnCommands(local, [
      { label: 'Check', command: 'echo checking from the tab' },
    ]);
    const file = path.join(folder, 'release-commands.yaml');
    expect(await declared(local)).toEqual({
      entityRef: `component:default/${local}`,
      declarations: [
        {
          source: 'repository',
          location: file,
          revision: sha256(DECLARED),
          commands: [
            {
              label: 'Migrate database',
              command: 'echo migrating from the repository',
              timeoutSeconds: 600,
              position: 'before',
            },
          ],
        },
      ],
    });

    const { ended } = await deploy(local);
    expect(ended.status).toBe('succeeded');
    expect(
      ended.steps.map(({ label, source, declaredIn, timeoutSeconds }) => ({
        label,
        source,
        declaredIn,
        timeoutSeconds,
      })),
    ).toEqual([
      {
        label: 'Migrate database',
        source: 'repository',
        declaredIn: { location: file, revision: sha256(DECLARED) },
        timeoutSeconds: 600,
      },
      {
        label: 'Check',
        source: 'user',
        declaredIn: undefined,
        timeoutSeconds: 1800,
      },
    ]);
    const log = await logOf(ended.id);
    expect(log).toContain(
      `1 of them is declared in ${file} (${sha256(DECLARED).slice(0, 19)})`,
    );
    expect(log.indexOf('migrating from the repository')).toBeLessThan(
      log.indexOf('checking from the tab'),
    );
  });

  it('follows edits of the file without a write to the tab, and a broken file fails the run before step 1', async () => {
    const file = path.join(folder, 'release-commands.yaml');
    const edited = `position: after
commands:
  - label: Seed data
    command: echo seeding
  - label: Migrate database
    command: echo migrating first
    position: before
`;
    fs.writeFileSync(file, edited);
    const [after] = (await declared(local)).declarations;
    expect(after).toMatchObject({
      revision: sha256(edited),
      commands: [
        { label: 'Seed data', command: 'echo seeding', position: 'after' },
        {
          label: 'Migrate database',
          command: 'echo migrating first',
          position: 'before',
        },
      ],
    });
    const { ended: edit } = await deploy(local);
    expect(edit.steps.map(step => [step.label, step.source])).toEqual([
      ['Migrate database', 'repository'],
      ['Check', 'user'],
      ['Seed data', 'repository'],
    ]);

    fs.writeFileSync(file, 'commands:\n  - label: Migrate\n    command: [\n');
    const [problem] = (await declared(local)).declarations;
    expect(problem.commands).toEqual([]);
    expect(problem.problem).toMatch(
      /^The release commands declared in the file \.\/release-commands\.yaml \(release-commands\/file annotation\) cannot be parsed: /,
    );

    const { created, ended } = await deploy(local);
    expect(created.status).toBe('failed');
    expect(ended).toMatchObject({
      status: 'failed',
      reason: `${problem.problem} No command ran.`,
      startedAt: null,
    });
    expect(ended.steps.map(step => step.status)).toEqual(['skipped']);
    expect(await logOf(ended.id)).toContain(
      `Release commands failed: ${problem.problem} No command ran. The deployment must not proceed.`,
    );
    expect(await containersOf(local)).toEqual([]);

    fs.writeFileSync(file, 'commands:\n  - label: ""\n    command: echo\n');
    const [invalid] = (await declared(local)).declarations;
    expect(invalid.problem).toBe(
      'The release commands declared in the file ./release-commands.yaml (release-commands/file annotation) are not valid: commands.0.label must not be empty.',
    );

    fs.rmSync(file);
    const [missing] = (await declared(local)).declarations;
    expect(missing.problem).toBe(
      `The release commands declared in the file ./release-commands.yaml (release-commands/file annotation) cannot be read from ${file}: there is no such file.`,
    );
    // The next run does not hold the entity's lock: a fixed file runs again.
    fs.writeFileSync(file, DECLARED);
    expect((await deploy(local)).ended.status).toBe('succeeded');
  });

  it('reads a file by URL through the URL reader, asking the host whether it changed', async () => {
    const url = `${fileHost.url}/acme/shop/release-commands.yaml`;
    const first = await declared(remote);
    expect(first.declarations).toEqual([
      expect.objectContaining({
        source: 'repository',
        location: url,
        revision: sha256(DECLARED),
      }),
    ]);
    const notModified = fileHost.notModified;
    expect((await declared(remote)).declarations).toEqual(first.declarations);
    expect(fileHost.notModified).toBe(notModified + 1);

    fileHost.text = DECLARED.replace('600', '900');
    const [changed] = (await declared(remote)).declarations;
    expect(changed.commands[0].timeoutSeconds).toBe(900);
    const { ended } = await deploy(remote);
    expect(ended.steps[0]).toMatchObject({
      label: 'Migrate database',
      source: 'repository',
      timeoutSeconds: 900,
      declaredIn: { location: url, revision: sha256(fileHost.text) },
    });
  });

  it("runs the commands an image's label declares, recorded with the image id, and the tab sees them", async () => {
    await setOwnCommands(labelled, [
      { label: 'Migrate', command: 'echo migrating from the tab' },
    ]);
    const { ended } = await deploy(labelled, labelledImage);
    expect(ended.status).toBe('succeeded');
    const imageId = (await docker.getImage(labelledImage).inspect()).Id;
    expect(ended.imageId).toBe(imageId);
    expect(
      ended.steps.map(({ label, source, declaredIn, status }) => ({
        label,
        source,
        declaredIn,
        status,
      })),
    ).toEqual([
      {
        label: 'Migrate',
        source: 'user',
        declaredIn: undefined,
        status: 'succeeded',
      },
      {
        label: 'Warm caches',
        source: 'image',
        declaredIn: { location: labelledImage, revision: imageId },
        status: 'succeeded',
      },
    ]);
    const log = await logOf(ended.id);
    expect(log).toContain(
      'The image declares 1 release command in its release-commands/commands label: Warm caches (after the others). 2 release commands in all',
    );
    expect(log).toContain('warming from the image');
    expect(log).toContain('[2/2] Warm caches passed');

    expect((await declared(labelled)).declarations).toEqual([
      {
        source: 'image',
        location: labelledImage,
        revision: imageId,
        commands: [
          {
            label: 'Warm caches',
            command: 'echo warming from the image',
            timeoutSeconds: 1800,
            position: 'after',
          },
        ],
        seenInRunId: ended.id,
      },
    ]);
  });

  it('checks what would run, declared commands included, without a run', async () => {
    const check = async (name: string, runImage: string) =>
      (
        await api
          .post(`${entityPath(name)}/runs`, { image: runImage, dryRun: true })
          .expect(200)
      ).body;
    const before = (await api.get(`${entityPath(labelled)}/runs`)).body.runs;
    const plan = await check(labelled, labelledImage);
    expect(plan.problems).toEqual([]);
    expect(
      plan.steps.map((step: any) => [step.label, step.source, step.found]),
    ).toEqual([
      ['Migrate', 'user', 'echo'],
      ['Warm caches', 'image', 'echo'],
    ]);
    const refused = await check(broken, brokenImage);
    expect(refused.ok).toBe(false);
    expect(refused.problems).toEqual([
      `The release commands declared in the release-commands/commands label of image ${brokenImage} are not valid: commands.0.command is required.`,
    ]);
    expect((await api.get(`${entityPath(labelled)}/runs`)).body.runs).toEqual(
      before,
    );
  });

  it('fails a run before step 1 when the image label cannot be used', async () => {
    await setOwnCommands(broken, [
      { label: 'Migrate', command: 'echo must not run' },
    ]);
    const { ended } = await deploy(broken, brokenImage);
    expect(ended.status).toBe('failed');
    expect(ended.reason).toBe(
      `The release commands declared in the release-commands/commands label of image ${brokenImage} are not valid: commands.0.command is required. No command ran.`,
    );
    expect(ended.steps.map(step => step.status)).toEqual(['skipped']);
    const log = await logOf(ended.id);
    expect(log).not.toContain('must not run\n');
    expect(await containersOf(broken)).toEqual([]);
  });
});
