import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration, parseRunFlags } from './parseRunFlags';

describe('parseRunFlags', () => {
  const required = { entity: 'Component:default/Shop', image: 'shop:1.4.2' };

  it('builds a pipeline run request from the flags, --env winning over --env-file', () => {
    const file = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'rc-flags-')),
      'release.env',
    );
    fs.writeFileSync(
      file,
      [
        '# settings',
        'export DATABASE_URL="postgres://db/shop"',
        "GREETING='hello world'",
        'EMPTY=',
        'OVERRIDDEN=from-file',
        '',
      ].join('\n'),
    );
    expect(
      parseRunFlags(
        {
          ...required,
          envFile: [file],
          env: ['OVERRIDDEN=from-flag', 'WITH_EQUALS=a=b', 'FROM_ENV'],
          environment: 'production',
          timeout: '15m',
        },
        { FROM_ENV: 'inherited' },
      ),
    ).toEqual({
      entityRef: 'component:default/shop',
      body: {
        image: 'shop:1.4.2',
        environment: 'production',
        env: {
          DATABASE_URL: 'postgres://db/shop',
          GREETING: 'hello world',
          EMPTY: '',
          OVERRIDDEN: 'from-flag',
          WITH_EQUALS: 'a=b',
          FROM_ENV: 'inherited',
        },
      },
      timeoutMs: 15 * 60_000,
      reconnectMs: 30_000,
    });
  });

  it('takes the reconnect timeout from the environment', () => {
    expect(
      parseRunFlags(required, { RELEASE_COMMANDS_RECONNECT_SECONDS: '3' })
        .reconnectMs,
    ).toBe(3000);
  });

  it('names the flag at fault', () => {
    expect(() => parseRunFlags({ ...required, env: ['=x'] }, {})).toThrow(
      '--env "=x" must be KEY=VALUE or the name KEY',
    );
    expect(() =>
      parseRunFlags({ ...required, image: 'a b', environment: 'A' }, {}),
    ).toThrow(/^--image must be an image reference .*; --environment must be/);
  });

  it('reads durations in seconds, minutes and hours', () => {
    expect(parseDuration('90', '--timeout')).toBe(90_000);
    expect(parseDuration('90s', '--timeout')).toBe(90_000);
    expect(parseDuration('1.5h', '--timeout')).toBe(5_400_000);
    expect(() => parseDuration('0', '--timeout')).toThrow('--timeout must be');
    expect(() => parseDuration('-5', '--timeout')).toThrow('--timeout must be');
    expect(() => parseRunFlags({ ...required, timeout: '1000h' }, {})).toThrow(
      '--timeout must be at most 596h, got "1000h"',
    );
  });
});
