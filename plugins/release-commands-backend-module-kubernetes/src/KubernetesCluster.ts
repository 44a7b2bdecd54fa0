import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubernetesConnection } from './readKubernetesExecutorOptions';

/** The clients of one cluster. */
export type KubernetesCluster = {
  kc: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
};

export function kubernetesCluster(kc: KubeConfig): KubernetesCluster {
  return {
    kc,
    batch: kc.makeApiClient(BatchV1Api),
    core: kc.makeApiClient(CoreV1Api),
  };
}

/** The client configuration the connection settings name. */
export function loadKubeConfig(connection: KubernetesConnection): KubeConfig {
  const kc = new KubeConfig();
  if (connection.type === 'inCluster') {
    kc.loadFromCluster();
    return kc;
  }
  if (connection.type === 'file') kc.loadFromFile(connection.path);
  else kc.loadFromDefault();
  if (connection.context) kc.setCurrentContext(connection.context);
  return kc;
}
