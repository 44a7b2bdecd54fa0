import { StepRequest } from '@release-commands/backstage-plugin-release-commands-node';

export const SECRET_VALUE = 's3cr3t-database-password';

/** A step request whose output is collected, and a way to stop it. */
export function stepRequest(
  overrides: Partial<StepRequest> & { step?: number; runId?: string } = {},
) {
  const { step = 1, runId = '6f1c0d3e-0000-4000-8000-000000000001' } =
    overrides;
  const chunks: string[] = [];
  const controller = new AbortController();
  const started: string[] = [];
  const request: StepRequest = {
    image: 'registry.example.com/shop@sha256:0123',
    argv: ['/bin/sh', '-c', 'python manage.py migrate'],
    env: { DATABASE_PASSWORD: SECRET_VALUE, RELEASE_COMMAND: '1' },
    labels: {
      runId,
      entityRef: 'component:default/shop',
      step,
      instanceId: 'backend-1:42:abcd',
      expiresAt: new Date(Date.now() + 600_000),
    },
    onOutput: (_stream, chunk) => {
      chunks.push(chunk.toString('utf8'));
    },
    onStarted: id => started.push(id),
    signal: controller.signal,
    ...overrides,
  };
  return {
    request,
    controller,
    started,
    output: () => chunks.join(''),
  };
}
