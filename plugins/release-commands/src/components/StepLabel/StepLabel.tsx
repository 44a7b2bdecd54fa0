import {
  shortRevision,
  StepSource,
} from '@release-commands/backstage-plugin-release-commands-common';
import Typography from '@material-ui/core/Typography';

/**
 * A step's label with its command under it, or a note that the command is
 * hidden from a reader without access to the entity's commands; a declared
 * step also says which file or image declared it, and which version.
 */
export function StepLabel(props: {
  step: {
    label: string;
    command: string;
    commandHidden?: true;
    source?: StepSource | null;
    declaredIn?: { location: string; revision: string | null };
  };
}) {
  const { step } = props;
  const { declaredIn } = step;
  return (
    <>
      <Typography variant="body2">{step.label}</Typography>
      {step.commandHidden ? (
        <Typography variant="caption" color="textSecondary">
          <em>Command hidden: reading it needs access to the commands</em>
        </Typography>
      ) : (
        <Typography variant="caption" component="code" color="textSecondary">
          {step.command}
        </Typography>
      )}
      {declaredIn && (
        <Typography
          variant="caption"
          component="div"
          color="textSecondary"
          data-testid="declared-in"
        >
          {step.source === 'image' ? 'Declared by the image ' : 'Declared in '}
          <code>{declaredIn.location}</code>
          {declaredIn.revision && ` (${shortRevision(declaredIn.revision)})`}
        </Typography>
      )}
    </>
  );
}
