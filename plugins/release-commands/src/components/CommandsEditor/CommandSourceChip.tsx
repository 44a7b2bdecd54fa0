import { StepSource } from '@release-commands/backstage-plugin-release-commands-common';
import Chip from '@material-ui/core/Chip';
import Tooltip from '@material-ui/core/Tooltip';

const SOURCES: Record<StepSource, { label: string; description: string }> = {
  user: {
    label: 'Added by you',
    description: 'Typed in this tab by a person',
  },
  template: {
    label: 'Template',
    description: 'Added by the software template that created this entity',
  },
  framework: {
    label: 'Framework default',
    description: "A default command of the application's framework",
  },
  api: {
    label: 'API',
    description: 'Added by a program through the release-commands API',
  },
  repository: {
    label: 'Repository',
    description:
      "Declared in the entity's repository (the release-commands/file annotation): change it there",
  },
  image: {
    label: 'Image',
    description:
      "Declared by the image's release-commands/commands label: change it where the image is built",
  },
};

/** Where a command came from, with a tooltip saying what that means. */
export function CommandSourceChip(props: { source: StepSource }) {
  const { label, description } = SOURCES[props.source];
  return (
    <Tooltip title={description}>
      <Chip
        size="small"
        variant="outlined"
        label={label}
        color={props.source === 'user' ? 'primary' : 'default'}
      />
    </Tooltip>
  );
}
