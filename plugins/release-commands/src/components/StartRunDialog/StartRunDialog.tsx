import { useApi } from '@backstage/core-plugin-api';
import {
  DEFAULT_RUN_ENVIRONMENT,
  describeError,
  ReleaseCommandRun,
  RunPlan,
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
import { RunPlanResult } from './RunPlanResult';

/**
 * Starts a run by hand: to try an image before a pipeline ships it, or to
 * repeat a deploy's release phase. The image reference is checked here with
 * the backend's own grammar before anything is sent. "Check only" asks the
 * backend what a run would do and what would stop it, and starts nothing.
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
  const [sending, setSending] = useState<'run' | 'check'>();
  const [refusal, setRefusal] = useState<string>();
  // A check answers for the request it was made with, not for later edits.
  const [checked, setChecked] = useState<{ request: string; plan: RunPlan }>();
  const { errors, request } = parseRunForm(form.values);
  const requestKey = request && JSON.stringify(request);
  const plan =
    requestKey && checked?.request === requestKey ? checked.plan : undefined;

  const send = async (kind: 'run' | 'check') => {
    form.markSubmitted();
    if (!request) return;
    setSending(kind);
    setRefusal(undefined);
    setChecked(undefined);
    try {
      if (kind === 'run') {
        props.onStarted(await api.createRun(props.entityRef, request));
        return;
      }
      const checkedPlan = await api.checkRun(props.entityRef, request);
      setChecked({ request: JSON.stringify(request), plan: checkedPlan });
    } catch (error) {
      setRefusal(describeError(error));
    }
    setSending(undefined);
  };

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault();
    void send('run');
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
            Check only makes the image available and looks up each command's
            program in it, without running the commands.
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
          {plan && <RunPlanResult plan={plan} />}
        </DialogContent>
        <DialogActions>
          <Button onClick={props.onClose} disabled={Boolean(sending)}>
            Cancel
          </Button>
          <Button
            color="primary"
            onClick={() => send('check')}
            disabled={Boolean(sending)}
          >
            {sending === 'check' ? 'Checking…' : 'Check only'}
          </Button>
          <Button
            type="submit"
            color="primary"
            variant="contained"
            disabled={Boolean(sending)}
          >
            {sending === 'run' ? 'Starting…' : 'Run'}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
