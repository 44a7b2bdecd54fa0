import { randomUUID } from 'node:crypto';
import { DatabaseRunsStore } from '../database/DatabaseRunsStore';

/** A queued one-step run of an entity, for a test that needs a run's row. */
export function createTestRun(runs: DatabaseRunsStore, entity = 'shop') {
  return runs.createRun({
    id: randomUUID(),
    entityRef: `component:default/${entity}`,
    environment: 'production',
    image: 'shop:1',
    trigger: 'pipeline',
    triggeredBy: 'external:ci',
    envKeys: [],
    ownerInstance: 'host:1:a',
    steps: [{ label: 'Migrate', command: 'migrate', timeoutSeconds: 60 }],
  });
}
