import { CommandSource } from '@release-commands/backstage-plugin-release-commands-common';
import Chip from '@material-ui/core/Chip';
import Tooltip from '@material-ui/core/Tooltip';

const SOURCES: Record<CommandSource, { label: string; description: string }> = {
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
};

/** Where a command came from, with a tooltip saying what that means. */
export function CommandSourceChip(props: { source: CommandSource }) {
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
