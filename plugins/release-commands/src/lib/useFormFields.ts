import { ChangeEvent, useState } from 'react';

/**
 * A small form's values, where each field shows its error once the user
 * has left it or submitted, not while they type it the first time.
 */
export function useFormFields<TValues extends Record<string, string | boolean>>(
  idPrefix: string,
  initial: TValues,
) {
  const [values, setValues] = useState(initial);
  const [touched, setTouched] = useState<
    Partial<Record<keyof TValues, boolean>>
  >({});
  const [submitted, setSubmitted] = useState(false);

  const set = <K extends keyof TValues>(name: K, value: TValues[K]) =>
    setValues(previous => ({ ...previous, [name]: value }));

  /** Props for the text field of `name`: its value, and its error or hint. */
  const textField = <K extends keyof TValues & string>(
    name: K,
    error: string | undefined,
    hint: string,
  ) => {
    const shown = submitted || touched[name] ? error : undefined;
    return {
      id: `${idPrefix}-${name}`,
      value: String(values[name]),
      onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
        set(name, e.target.value as TValues[K]),
      onBlur: () => setTouched(previous => ({ ...previous, [name]: true })),
      error: Boolean(shown),
      helperText: shown ?? hint,
    };
  };

  return { values, set, textField, markSubmitted: () => setSubmitted(true) };
}
