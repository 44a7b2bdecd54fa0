import { mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import YAML from 'yaml';
import { startPlugin } from '../__testUtils__/startPlugin';
import { createRouter } from '../service/createRouter';

const spec = YAML.parse(
  fs.readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8'),
);
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

/** The documented schema of one response, checked against a real one. */
function expectDocumented(
  method: string,
  specPath: string,
  res: request.Response,
) {
  const operation = spec.paths[specPath]?.[method];
  expect(operation).toBeDefined();
  const documented = operation.responses[String(res.status)];
  if (!documented) {
    throw new Error(
      `${method.toUpperCase()} ${specPath} answered ${
        res.status
      }, which the spec does not list`,
    );
  }
  const response = documented.$ref
    ? spec.components.responses[documented.$ref.split('/').pop()]
    : documented;
  const schema = response.content['application/json'].schema;
  const validate = ajv.compile({ ...schema, components: spec.components });
  if (!validate(res.body)) {
    throw new Error(
      `${method.toUpperCase()} ${specPath} ${
        res.status
      } does not match the spec: ${ajv.errorsText(
        validate.errors,
      )}\n${JSON.stringify(res.body)}`,
    );
  }
}

describe('openapi.yaml', () => {
  it('documents exactly the routes the router serves', async () => {
    const router: any = await createRouter({} as any);
    const served = router.stack
      .filter((layer: any) => layer.route)
      .flatMap((layer: any) =>
        Object.keys(layer.route.methods).map(
          method => `${method} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`,
        ),
      )
      .sort();
    const documented = Object.entries(spec.paths)
      .flatMap(([p, item]: [string, any]) =>
        Object.keys(item)
          .filter(k => ['get', 'put', 'post', 'delete', 'patch'].includes(k))
          .map(method => `${method} ${p}`),
      )
      .sort();
    expect(served).toEqual(documented);
  });

  it('describes every response the API gives, success and refusal', async () => {
    const api = await startPlugin();
    const list = '/entities/{kind}/{namespace}/{name}/commands';
    const one = `${list}/{id}`;
    const shop = '/entities/component/default/shop/commands';

    expectDocumented('get', '/health', await api.get('/health'));
    expectDocumented('get', '/presets', await api.get('/presets'));
    expectDocumented('get', list, await api.get(shop));

    const put = await api.put(shop, {
      revision: 0,
      commands: [
        { label: 'Migrate', command: 'migrate', timeoutSeconds: 60 },
        { label: 'Check', command: 'check', enabled: false },
      ],
    });
    expect(put.status).toBe(200);
    expectDocumented('put', list, put);
    expectDocumented(
      'put',
      list,
      await api.put(shop, { revision: 0, commands: [] }),
    );
    expectDocumented('put', list, await api.put(shop, { revision: 1 }));
    expectDocumented(
      'put',
      list,
      await api.put(shop, {
        revision: 1,
        commands: [{ label: 'x', command: 'x'.repeat(300_000) }],
      }),
    );

    const appended = await api.post(shop, { label: 'Warm', command: 'warm' });
    expect(appended.status).toBe(201);
    expectDocumented('post', list, appended);
    expectDocumented(
      'post',
      list,
      await api.post(shop, { label: 'Warm', command: 'warm' }),
    );
    expectDocumented('post', list, await api.post(shop, { label: '' }));

    const deleted = await api.del(`${shop}/${appended.body.command.id}`);
    expect(deleted.status).toBe(200);
    expectDocumented('delete', one, deleted);
    expectDocumented(
      'delete',
      one,
      await api.del(`${shop}/${appended.body.command.id}`),
    );
    expectDocumented(
      'get',
      list,
      await api.get('/entities/k~nd/default/shop/commands'),
    );

    const none = mockCredentials.none.header();
    expectDocumented(
      'get',
      list,
      await api.get(shop).set('Authorization', none),
    );
    expectDocumented(
      'get',
      '/presets',
      await api.get('/presets').set('Authorization', none),
    );

    const denied = await startPlugin({ permission: AuthorizeResult.DENY });
    expectDocumented('get', list, await denied.get(shop));
    expectDocumented(
      'put',
      list,
      await denied.put(shop, { revision: 0, commands: [] }),
    );
    expectDocumented(
      'post',
      list,
      await denied.post(shop, { label: 'x', command: 'x' }),
    );
    expectDocumented('delete', one, await denied.del(`${shop}/x`));
  });
});
