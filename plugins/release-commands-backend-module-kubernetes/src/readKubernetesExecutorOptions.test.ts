import { ConfigReader } from '@backstage/config';
import { readKubernetesExecutorOptions } from './readKubernetesExecutorOptions';

function read(kubernetes?: object) {
  return readKubernetesExecutorOptions(
    new ConfigReader(kubernetes ? { releaseCommands: { kubernetes } } : {}),
  );
}

describe('readKubernetesExecutorOptions', () => {
  it('defaults to the default kubeconfig, the default namespace and a minute to start', () => {
    expect(read()).toEqual({
      connection: { type: 'default', context: undefined },
      namespace: 'default',
      imagePullSecrets: [],
      stopGracePeriodSeconds: 10,
      startFailureGraceMs: 60_000,
      ttlSecondsAfterFinished: 3600,
      apiFailureGraceMs: 60_000,
      tty: true,
    });
  });

  it('reads a kubeconfig file or the in-cluster service account, and the pod settings', () => {
    expect(
      read({
        kubeconfigPath: '/etc/kube/config',
        context: 'prod',
        namespace: 'release',
        serviceAccountName: 'release-commands',
        resources: { limits: { memory: '1Gi' } },
        nodeSelector: { pool: 'jobs' },
        tolerations: [{ key: 'jobs', operator: 'Exists' }],
        imagePullSecrets: ['registry'],
        podTemplatePatch: { metadata: { labels: { team: 'shop' } } },
        stopGracePeriodSeconds: 30,
        startFailureGraceSeconds: 120,
        ttlSecondsAfterFinished: 600,
        apiFailureGraceSeconds: 20,
        tty: false,
      }),
    ).toEqual({
      connection: { type: 'file', path: '/etc/kube/config', context: 'prod' },
      namespace: 'release',
      serviceAccountName: 'release-commands',
      resources: { limits: { memory: '1Gi' } },
      nodeSelector: { pool: 'jobs' },
      tolerations: [{ key: 'jobs', operator: 'Exists' }],
      imagePullSecrets: ['registry'],
      podTemplatePatch: { metadata: { labels: { team: 'shop' } } },
      stopGracePeriodSeconds: 30,
      startFailureGraceMs: 120_000,
      ttlSecondsAfterFinished: 600,
      apiFailureGraceMs: 20_000,
      tty: false,
    });
    expect(read({ inCluster: true }).connection).toEqual({ type: 'inCluster' });
  });

  it.each([
    [
      { inCluster: true, kubeconfigPath: '/x' },
      'set inCluster or kubeconfigPath, not both',
    ],
    [
      { stopGracePeriodSeconds: -1 },
      'stopGracePeriodSeconds must be a whole number of seconds, got -1',
    ],
    [
      { startFailureGraceSeconds: 1.5 },
      'startFailureGraceSeconds must be a whole number of seconds, got 1.5',
    ],
  ])('refuses %j', (kubernetes, message) => {
    expect(() => read(kubernetes)).toThrow(message);
  });
});
