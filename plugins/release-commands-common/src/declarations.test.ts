import { inRunOrder, shortRevision } from './declarations';

describe('inRunOrder', () => {
  it('puts the image outermost, the repository next, the tab in the middle', () => {
    expect(
      inRunOrder(
        ['tab 1', 'tab 2'],
        [
          {
            source: 'repository',
            items: [
              { position: 'after', item: 'repo after 1' },
              { position: 'before', item: 'repo before' },
              { position: 'after', item: 'repo after 2' },
            ],
          },
          {
            source: 'image',
            items: [
              { position: 'after', item: 'image after' },
              { position: 'before', item: 'image before' },
            ],
          },
        ],
      ),
    ).toEqual([
      'image before',
      'repo before',
      'tab 1',
      'tab 2',
      'repo after 1',
      'repo after 2',
      'image after',
    ]);
  });

  it('keeps the tab alone when nothing is declared', () => {
    expect(inRunOrder(['a', 'b'], [])).toEqual(['a', 'b']);
  });
});

describe('shortRevision', () => {
  it('shortens a sha256 to 12 hex digits and leaves anything else', () => {
    expect(shortRevision(`sha256:${'ab'.repeat(32)}`)).toBe(
      'sha256:abababababab',
    );
    expect(shortRevision('v1')).toBe('v1');
  });
});
