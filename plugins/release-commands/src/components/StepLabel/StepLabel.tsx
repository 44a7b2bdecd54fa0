import Typography from '@material-ui/core/Typography';

/**
 * A step's label with its command under it, or a note that the command is
 * hidden from a reader without access to the entity's commands.
 */
export function StepLabel(props: {
  step: { label: string; command: string; commandHidden?: true };
}) {
  const { step } = props;
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
    </>
  );
}
