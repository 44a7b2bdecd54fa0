import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';

// LogViewer understands one SGR code per escape and no reset (0), so what
// commands print (`\e[32;1m`, `\e[0m`) is rewritten into codes it knows.
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[([\d;]*)m/g;
const RESET_CODES = ['22', '23', '24', '39', '49'];
const sgr = (code: string) => `\u001b[${code}m`;

function toSingleCodes(text: string): string {
  return text.replace(SGR, (_, params: string) =>
    params
      .split(';')
      .flatMap(code =>
        code === '' || Number(code) === 0
          ? RESET_CODES
          : [String(Number(code))],
      )
      .map(sgr)
      .join(''),
  );
}

const STYLES: Partial<Record<RunLogChunk['stream'], [string, string]>> = {
  // The plugin's own lines: headings, step results, the verdict.
  system: [sgr('1'), sgr('22')],
  stderr: [sgr('31'), sgr('39')],
};

/**
 * A chunk as the log viewer should show it: the plugin's lines in bold,
 * stderr in red, the command's own colours kept. The style ends before the
 * chunk's last newline, so the next line starts plain.
 */
export function styleChunk(chunk: RunLogChunk): string {
  const text = toSingleCodes(chunk.text);
  const style = STYLES[chunk.stream];
  if (!style) return text;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return `${style[0]}${body}${style[1]}${text.slice(body.length)}`;
}
