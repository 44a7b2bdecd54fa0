import { useApi } from '@backstage/core-plugin-api';
import {
  DEFAULT_RUN_ENVIRONMENT,
  describeError,
  ReleaseCommandRun,
} from '@release-commands/backstage-plugin-release-commands-common';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import Alert from '@material-ui/lab/Alert';
import { FormEvent, useState } from 'react';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { useFormFields } from '../../lib/useFormFields';
import { parseRunForm } from './parseRunForm';

/**
 * Starts a run by hand: to try an image before a pipeline ships it, or to
 * repeat a deploy's release phase. The image reference is checked here with
 * the backend's own grammar before anything is sent.
 */
export function StartRunDialog(props: {
  entityRef: string;
  defaultImage?: string;
  onClose: () => void;
  onStarted: (run: ReleaseCommandRun) => void;
}) {
  const api = useApi(releaseCommandsApiRef);
  const form = useFormFields('run', {
    image: props.defaultImage ?? '',
    environment: '',
    variables: '',
  });
  const [sending, setSending] = useState(false);
  const [refusal, setRefusal] = useState<string>();
  const { errors, request } = parseRunForm(form.values);

  const handleSubmit = async (event: FormEvent) => {
    event.preventDefault();
    form.markSubmitted();
    if (!request) return;
    setSending(true);
    setRefusal(undefined);
    try {
      props.onStarted(await api.createRun(props.entityRef, request));
    } catch (error) {
      setRefusal(describeError(error));
      setSending(false);
    }
  };

  return (
    <Dialog
      open
      onClose={props.onClose}
      aria-labelledby="start-run-title"
      fullWidth
    >
      <form onSubmit={handleSubmit} noValidate>
        <DialogTitle id="start-run-title">Run release commands</DialogTitle>
        <DialogContent>
          <DialogContentText>
            Runs this entity's enabled commands, in order, each in a fresh
            container from the image. They act on whatever the image's
            configuration and the variables below point at, as in a deploy.
          </DialogContentText>
          {refusal && <Alert severity="error">{refusal}</Alert>}
          <TextField
            {...form.textField(
              'image',
              errors.image,
              'The image a deploy would ship',
            )}
            label="Image"
            placeholder="registry.example.com/team/shop:1.4.2"
            required
            fullWidth
            margin="normal"
            inputProps={{ style: { fontFamily: 'monospace' } }}
          />
          <TextField
            {...form.textField(
              'environment',
              errors.environment,
              `Runs of one environment never overlap; empty means "${DEFAULT_RUN_ENVIRONMENT}". Use e.g. test for a trial run.`,
            )}
            label="Environment"
            placeholder={DEFAULT_RUN_ENVIRONMENT}
            fullWidth
            margin="normal"
          />
          <TextField
            {...form.textField(
              'variables',
              errors.variables,
              'NAME=value, one a line. Values are secrets: masked in the log, never stored.',
            )}
            label="Variables"
            placeholder="DATABASE_URL=postgres://..."
            fullWidth
            multiline
            minRows={2}
            margin="normal"
            inputProps={{ style: { fontFamily: 'monospace' } }}
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={props.onClose} disabled={sending}>
            Cancel
          </Button>
          <Button
            type="submit"
            color="primary"
            variant="contained"
            disabled={sending}
          >
            {sending ? 'Starting…' : 'Run'}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
