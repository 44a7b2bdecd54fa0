import {
  CommandInput,
  CommandSettings,
  CommandSource,
  ReleaseCommandList,
  sameCommandSettings,
} from '@release-commands/backstage-plugin-release-commands-common';

/**
 * One row of the list being edited. `key` is stable across edits and moves
 * (React keys, focus after a move); `id` is absent until the command is saved.
 */
export type DraftCommand = CommandSettings & {
  key: string;
  id?: string;
  source: CommandSource;
};

/** The list as read (with the revision a save must name) and as edited. */
export type CommandsDraft = {
  saved: ReleaseCommandList;
  commands: DraftCommand[];
};

export type CommandsDraftAction =
  | { type: 'load'; list: ReleaseCommandList }
  | { type: 'add'; settings: CommandSettings }
  | { type: 'update'; key: string; settings: CommandSettings }
  | { type: 'remove'; key: string }
  | { type: 'move'; from: number; to: number };

let nextNewKey = 0;

function fromList(list: ReleaseCommandList): DraftCommand[] {
  return list.commands.map(command => ({
    key: command.id,
    id: command.id,
    label: command.label,
    command: command.command,
    enabled: command.enabled,
    timeoutSeconds: command.timeoutSeconds,
    source: command.source,
  }));
}

export function initialDraft(list: ReleaseCommandList): CommandsDraft {
  return { saved: list, commands: fromList(list) };
}

export function commandsDraftReducer(
  draft: CommandsDraft,
  action: CommandsDraftAction,
): CommandsDraft {
  switch (action.type) {
    case 'load':
      return initialDraft(action.list);
    case 'add':
      nextNewKey += 1;
      return {
        ...draft,
        commands: [
          ...draft.commands,
          { ...action.settings, key: `new-${nextNewKey}`, source: 'user' },
        ],
      };
    case 'update':
      return {
        ...draft,
        commands: draft.commands.map(c =>
          c.key === action.key ? { ...c, ...action.settings } : c,
        ),
      };
    case 'remove':
      return {
        ...draft,
        commands: draft.commands.filter(c => c.key !== action.key),
      };
    case 'move': {
      const { from, to } = action;
      if (
        from === to ||
        from < 0 ||
        to < 0 ||
        from >= draft.commands.length ||
        to >= draft.commands.length
      ) {
        return draft;
      }
      const commands = [...draft.commands];
      const [moved] = commands.splice(from, 1);
      commands.splice(to, 0, moved);
      return { ...draft, commands };
    }
    default:
      return draft;
  }
}

/** Whether saving would change anything: order, membership or settings. */
export function hasUnsavedChanges(draft: CommandsDraft): boolean {
  const saved = draft.saved.commands;
  if (saved.length !== draft.commands.length) return true;
  return draft.commands.some(
    (command, index) =>
      command.id !== saved[index].id ||
      !sameCommandSettings(command, saved[index]),
  );
}

/** The body of the whole-list write. */
export function toCommandInputs(commands: DraftCommand[]): CommandInput[] {
  return commands.map(c => ({
    ...(c.id ? { id: c.id } : {}),
    label: c.label,
    command: c.command,
    enabled: c.enabled,
    timeoutSeconds: c.timeoutSeconds,
  }));
}
