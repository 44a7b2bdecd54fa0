import { z } from 'zod';
import {
  commandArgv,
  createRunRequestSchema,
  environmentNameSchema,
  imageReferenceSchema,
  isImageReference,
  listRunsQuerySchema,
  MAX_ENV_NAME_LENGTH,
  MAX_ENV_TOTAL_BYTES,
  MAX_ENV_VALUE_LENGTH,
  MAX_ENV_VARIABLES,
  runEnvSchema,
  runLogsQuerySchema,
} from './runs';
import { describeZodError } from './schemas';

function problem(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : describeZodError(result.error);
}

const SHA256 = 'a'.repeat(64);

describe('isImageReference', () => {
  it.each([
    'busybox',
    'busybox:1.36',
    'library/busybox',
    'registry.example.com/team/shop:1.4.2',
    'registry.example.com:5000/team/shop',
    'Registry.Example.com/shop',
    'localhost:5000/shop',
    `shop@sha256:${SHA256}`,
    `shop:1.4@sha256:${SHA256}`,
    `shop@sha384:${'b'.repeat(96)}`,
    `shop@sha512:${'c'.repeat(128)}`,
    'a/b/c:tag_1.0-x',
    'shop:Latest',
    '[::1]:5000/x',
    'release-commands-demo/shop:1',
    'my__shop/a--b.c_d',
    `shop:${'t'.repeat(128)}`,
    `team/${'a'.repeat(250)}`,
  ])('accepts %s', image => {
    expect(isImageReference(image)).toBe(true);
  });

  it.each([
    '',
    'Shop:1',
    'team/Shop',
    'shop:',
    ':1',
    'shop:-bad',
    '-shop',
    'shop-',
    'shop//x',
    'shop/',
    'shop___x',
    'shop:1 ; rm -rf /',
    'shop$(id)',
    'shop@sha256:abc',
    `shop@sha256:${'a'.repeat(63)}`,
    `shop@sha256:${'A'.repeat(64)}`,
    `shop@sha256:${'a'.repeat(40)}`,
    `shop@md5:${'a'.repeat(32)}`,
    `shop@${SHA256}`,
    'a'.repeat(256),
    `team/${'a'.repeat(251)}`,
    'shop 1',
    ' shop',
    'shop\n',
    'shop:1\t',
    `shop:${'t'.repeat(129)}`,
    'https://registry.example.com/shop',
  ])('refuses %p', image => {
    expect(isImageReference(image)).toBe(false);
  });

  it('says what is wrong through the schema', () => {
    expect(problem(imageReferenceSchema, '')).toMatch(/^must not be empty/);
    expect(problem(imageReferenceSchema, 'Shop:1')).toMatch(
      /^must be an image reference such as registry\.example\.com\/team\/shop:1\.4\.2/,
    );
  });
});

describe('runEnvSchema', () => {
  it('accepts names of letters, digits and underscores, and any value', () => {
    const env = {
      DATABASE_URL: 'postgres://u:p@db/shop',
      _private: '',
      lower_case1: 'é € 😀 = "; rm -rf /',
      BIG: 'x'.repeat(MAX_ENV_VALUE_LENGTH),
    };
    expect(runEnvSchema.parse(env)).toEqual(env);
    expect(runEnvSchema.parse({})).toEqual({});
  });

  it.each(['1A', 'A-B', '', 'A B', 'É', 'A=B'])(
    'refuses the name %p, saying how names are made',
    name => {
      expect(problem(runEnvSchema, { [name]: 'x' })).toBe(
        `${
          name ? `${name} ` : ''
        }is not a valid name: use letters, digits and underscores, not starting with a digit`,
      );
    },
  );

  it('refuses too many variables', () => {
    const env = (count: number) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [`VAR_${i}`, 'x']),
      );
    expect(runEnvSchema.safeParse(env(MAX_ENV_VARIABLES)).success).toBe(true);
    expect(problem(runEnvSchema, env(MAX_ENV_VARIABLES + 1))).toBe(
      `must hold at most ${MAX_ENV_VARIABLES} variables`,
    );
  });

  it('refuses NUL characters and values that are too long', () => {
    expect(problem(runEnvSchema, { TOKEN: 'ab\u0000cd' })).toBe(
      'TOKEN must not contain NUL characters',
    );
    expect(
      problem(runEnvSchema, { TOKEN: 'x'.repeat(MAX_ENV_VALUE_LENGTH + 1) }),
    ).toBe(`TOKEN must be at most ${MAX_ENV_VALUE_LENGTH} characters`);
  });

  it('refuses names that are too long or reserved, and too much in all', () => {
    const long = 'A'.repeat(MAX_ENV_NAME_LENGTH + 1);
    expect(
      runEnvSchema.safeParse({ ['A'.repeat(MAX_ENV_NAME_LENGTH)]: 'x' })
        .success,
    ).toBe(true);
    expect(problem(runEnvSchema, { [long]: 'x' })).toBe(
      `${long} is too long a name: at most ${MAX_ENV_NAME_LENGTH} characters`,
    );
    expect(problem(runEnvSchema, { RELEASE_COMMAND: '0' })).toBe(
      'RELEASE_COMMAND is set by release commands itself (to 1, in every command); choose another name',
    );
    const big = (count: number) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `V${i}`,
          'x'.repeat(MAX_ENV_VALUE_LENGTH - 3),
        ]),
      );
    expect(runEnvSchema.safeParse(big(8)).success).toBe(true);
    expect(problem(runEnvSchema, big(9))).toBe(
      `must hold at most ${
        MAX_ENV_TOTAL_BYTES / 1024
      } KiB of names and values in all, got 288 KiB`,
    );
  });

  it('refuses values that are not strings', () => {
    expect(runEnvSchema.safeParse({ PORT: 5432 }).success).toBe(false);
    expect(runEnvSchema.safeParse(['A=1']).success).toBe(false);
  });
});

describe('environmentNameSchema', () => {
  it.each([
    'default',
    'production',
    'eu-west.1',
    'stage_2',
    '0',
    'a'.repeat(63),
  ])('accepts %p', name => {
    expect(environmentNameSchema.safeParse(name).success).toBe(true);
  });

  it.each(['', 'Production', '-prod', '.prod', 'prod env', 'a'.repeat(64)])(
    'refuses %p',
    name => {
      expect(problem(environmentNameSchema, name)).toBe(
        'must be a short lower-case name such as production or staging',
      );
    },
  );
});

describe('createRunRequestSchema', () => {
  it('accepts an image alone, or with every field', () => {
    expect(createRunRequestSchema.parse({ image: 'shop:1' })).toEqual({
      image: 'shop:1',
    });
    const full = {
      image: 'registry.example.com/team/shop:1.4.2',
      env: { DATABASE_URL: 'postgres://db/shop' },
      environment: 'production',
    };
    expect(createRunRequestSchema.parse(full)).toEqual(full);
  });

  it('refuses unknown fields, naming them', () => {
    expect(
      problem(createRunRequestSchema, {
        image: 'shop:1',
        command: 'rm -rf /',
        envs: {},
      }),
    ).toBe('unknown fields "command", "envs"');
    expect(problem(createRunRequestSchema, { image: 'shop:1', tag: '1' })).toBe(
      'unknown field "tag"',
    );
  });

  it('names the field at fault', () => {
    expect(problem(createRunRequestSchema, {})).toMatch(/^image /);
    expect(
      problem(createRunRequestSchema, { image: 'shop:1', env: { '1A': 'x' } }),
    ).toBe(
      'env.1A is not a valid name: use letters, digits and underscores, not starting with a digit',
    );
    expect(
      problem(createRunRequestSchema, {
        image: 'shop:1',
        environment: 'Prod',
        trigger: 'manual',
      }),
    ).toMatch(
      /^environment must be a short lower-case name.*; unknown field "trigger"$/,
    );
  });
});

describe('listRunsQuerySchema', () => {
  it('reads the limit from the query string', () => {
    expect(listRunsQuerySchema.parse({ limit: '20', cursor: 'abc' })).toEqual({
      limit: 20,
      cursor: 'abc',
    });
    expect(listRunsQuerySchema.parse({})).toEqual({});
  });

  it.each([
    [{ limit: '0' }, 'limit must be at least 1'],
    [{ limit: '101' }, 'limit must be at most 100'],
    [{ limit: '1.5' }, 'limit must be a whole number'],
    [{ page: '2' }, 'unknown field "page"'],
  ])('refuses %p', (query, message) => {
    expect(problem(listRunsQuerySchema, query)).toBe(message);
  });
});

describe('runLogsQuerySchema', () => {
  it('reads follow and after from the query string', () => {
    expect(runLogsQuerySchema.parse({ follow: 'true', after: '12' })).toEqual({
      follow: 'true',
      after: 12,
    });
  });

  it('refuses a negative sequence number and other follow values', () => {
    expect(problem(runLogsQuerySchema, { after: '-1' })).toBe(
      'after must be a sequence number (0 or more)',
    );
    expect(problem(runLogsQuerySchema, { follow: 'yes' })).toMatch(/^follow /);
  });
});

describe('commandArgv', () => {
  it.each([
    'python manage.py migrate',
    '[ -f manage.py ] && python manage.py migrate',
    '[]',
    '[1,2]',
    '[""]',
    '["python", 1]',
    '["python"] && echo done',
    '{"argv": ["python"]}',
    '  ./migrate.sh  ',
  ])('runs %p through the shell, unchanged', command => {
    expect(commandArgv(command)).toEqual(['/bin/sh', '-c', command]);
  });

  it('runs a JSON array of strings directly, as a Dockerfile exec form', () => {
    expect(commandArgv('["python","manage.py","migrate"]')).toEqual([
      'python',
      'manage.py',
      'migrate',
    ]);
    expect(commandArgv('  ["python", "manage.py", "migrate"]\t')).toEqual([
      'python',
      'manage.py',
      'migrate',
    ]);
    expect(commandArgv('["echo", "", "$HOME && x"]')).toEqual([
      'echo',
      '',
      '$HOME && x',
    ]);
  });
});
