import { MAX_DECLARATION_BYTES, parseDeclaration } from './parseDeclaration';

const origin = {
  source: 'repository' as const,
  location: 'https://example.com/release-commands.yaml',
  description: 'the file ./release-commands.yaml',
};

describe('parseDeclaration', () => {
  it('reads YAML and JSON alike, with the default position and timeout', () => {
    const yaml = parseDeclaration(
      'commands:\n  - label: Migrate\n    command: ./migrate\n',
      origin,
    );
    const json = parseDeclaration(
      '{"commands":[{"label":"Migrate","command":"./migrate"}]}',
      origin,
    );
    for (const declaration of [yaml, json]) {
      expect(declaration).toMatchObject({
        source: 'repository',
        location: origin.location,
        commands: [
          {
            label: 'Migrate',
            command: './migrate',
            timeoutSeconds: null,
            position: 'before',
          },
        ],
      });
      expect(declaration.problem).toBeUndefined();
      expect(declaration.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(yaml.revision).not.toBe(json.revision);
  });

  it("gives each command its own position, else the document's", () => {
    const declaration = parseDeclaration(
      'position: after\ncommands:\n  - label: A\n    command: a\n  - label: B\n    command: b\n    position: before\n',
      origin,
    );
    expect(declaration.commands.map(c => [c.label, c.position])).toEqual([
      ['A', 'after'],
      ['B', 'before'],
    ]);
  });

  it.each([
    [
      'position: first\ncommands: []\n',
      'are not valid: position must be before or after.',
    ],
    [
      'commands:\n  - label: Migrate\n    command: ./migrate\n    user: root\n',
      'are not valid: commands.0: unknown field "user".',
    ],
    [
      'commands:\n  - label: Migrate\n    command: ./migrate\n    timeoutSeconds: 0\n',
      'are not valid: commands.0.timeoutSeconds must be at least 1 second.',
    ],
    [
      'position: before\n',
      'are not valid: commands must be a list of commands, each with a label and a command.',
    ],
    ['- just\n- a list\n', 'are not valid: '],
    ['commands: [\n', 'cannot be parsed: '],
  ])('names what is wrong in %p', (text, problem) => {
    const declaration = parseDeclaration(text, origin);
    expect(declaration.commands).toEqual([]);
    expect(declaration.problem).toContain(
      `The release commands declared in the file ./release-commands.yaml ${problem}`,
    );
  });

  it('refuses a document larger than the limit without parsing it', () => {
    const text = `# ${'x'.repeat(MAX_DECLARATION_BYTES)}\ncommands: []\n`;
    expect(parseDeclaration(text, origin).problem).toBe(
      'The release commands declared in the file ./release-commands.yaml cannot be used: it is larger than 256 KiB.',
    );
  });
});
