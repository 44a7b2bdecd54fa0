import Docker from 'dockerode';
import { DEMO_IMAGE } from './releaseCommandsTab';

/**
 * Removes the demo image, when an engine answers, so that the image the
 * suite runs is the one `bash scripts/start.sh` builds
 * (examples/demo-shop/build.sh). No engine may answer yet: command 1 starts
 * one where it can.
 */
export async function removeDemoImage(): Promise<void> {
  const docker = new Docker();
  if (
    !(await docker.ping().then(
      () => true,
      () => false,
    ))
  ) {
    return;
  }
  try {
    await docker.getImage(DEMO_IMAGE).remove({ force: true });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

/** When the demo image was created; it must exist. */
export async function demoImageCreated(docker: Docker): Promise<Date> {
  try {
    const { Created } = await docker.getImage(DEMO_IMAGE).inspect();
    return new Date(Created);
  } catch (error) {
    throw new Error(
      `bash scripts/start.sh did not build ${DEMO_IMAGE}: ${
        (error as Error).message
      }`,
    );
  }
}
