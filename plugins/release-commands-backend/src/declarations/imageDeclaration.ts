import {
  CommandDeclaration,
  RELEASE_COMMANDS_IMAGE_LABEL,
} from '@release-commands/backstage-plugin-release-commands-common';
import { PreparedImage } from '@release-commands/backstage-plugin-release-commands-node';
import { contentRevision, parseDeclaration } from './parseDeclaration';

/**
 * The commands a resolved image declares in its label, or undefined when
 * it carries none. The revision is the image id: what the steps run.
 */
export function imageDeclaration(
  image: string,
  prepared: PreparedImage,
): CommandDeclaration | undefined {
  const text = prepared.labels?.[RELEASE_COMMANDS_IMAGE_LABEL];
  if (text === undefined) return undefined;
  return parseDeclaration(
    text,
    {
      source: 'image',
      location: image,
      description: `the ${RELEASE_COMMANDS_IMAGE_LABEL} label of image ${image}`,
    },
    prepared.id ?? contentRevision(text),
  );
}
