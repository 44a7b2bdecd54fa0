import { CommandSettings } from '@release-commands/backstage-plugin-release-commands-common';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import Switch from '@material-ui/core/Switch';
import TextField from '@material-ui/core/TextField';
import { FormEvent } from 'react';
import { formatTimeout } from '../../lib/format';
import { useFormFields } from '../../lib/useFormFields';
import { validateCommandForm } from './validateCommandForm';

/**
 * Adds or edits one command. Nothing is sent from here: the result goes into
 * the list being edited, which one save writes whole.
 */
export function CommandDialog(props: {
  open: boolean;
  /** The command being edited; absent to add one. */
  initial?: CommandSettings;
  defaultTimeoutSeconds: number;
  onSubmit: (settings: CommandSettings) => void;
  onClose: () => void;
}) {
  const { open, initial, defaultTimeoutSeconds, onSubmit, onClose } = props;
  const form = useFormFields('command', {
    label: initial?.label ?? '',
    command: initial?.command ?? '',
    timeout:
      initial?.timeoutSeconds === null || initial?.timeoutSeconds === undefined
        ? ''
        : String(initial.timeoutSeconds),
    enabled: initial?.enabled ?? true,
  });
  const { errors, settings } = validateCommandForm(form.values);

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault();
    form.markSubmitted();
    if (settings) onSubmit(settings);
  };

  const editing = Boolean(initial);
  const titleId = editing ? 'edit-command-title' : 'add-command-title';
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby={titleId} fullWidth>
      <form onSubmit={handleSubmit} noValidate>
        <DialogTitle id={titleId}>
          {editing ? 'Edit release command' : 'Add a release command'}
        </DialogTitle>
        <DialogContent>
          <TextField
            {...form.textField(
              'label',
              errors.label,
              'What the step is called in run logs, e.g. Migrate database',
            )}
            label="Label"
            required
            fullWidth
            margin="normal"
          />
          <TextField
            {...form.textField(
              'command',
              errors.command,
              'Runs as /bin/sh -c in a fresh container from the new image; chain with && or ;',
            )}
            label="Command"
            required
            fullWidth
            margin="normal"
            inputProps={{ style: { fontFamily: 'monospace' } }}
          />
          <TextField
            {...form.textField(
              'timeout',
              errors.timeout,
              `Leave empty for the default (${formatTimeout(
                defaultTimeoutSeconds,
              )})`,
            )}
            label="Timeout in seconds"
            fullWidth
            margin="normal"
            inputProps={{ inputMode: 'numeric' }}
          />
          <FormControlLabel
            control={
              <Switch
                checked={form.values.enabled}
                onChange={e => form.set('enabled', e.target.checked)}
                color="primary"
              />
            }
            label="Enabled: runs on every deploy"
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" color="primary" variant="contained">
            {editing ? 'Apply' : 'Add'}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
