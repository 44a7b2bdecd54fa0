import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { ROOT } from './portal';
import { DEMO_IMAGE } from './releaseCommandsTab';

/**
 * Removes the demo image and builds it again with the README's script
 * (examples/demo-shop/build.sh, from a static busybox), so the suite runs a
 * freshly built image. Returns when it was created.
 */
export async function rebuildDemoImage(docker: Docker): Promise<Date> {
  try {
    await docker.getImage(DEMO_IMAGE).remove({ force: true });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  await promisify(execFile)(
    'bash',
    [path.join(ROOT, 'examples/demo-shop/build.sh'), DEMO_IMAGE],
    { cwd: ROOT },
  );
  const { Created } = await docker.getImage(DEMO_IMAGE).inspect();
  return new Date(Created);
}
