import { ResponseError } from '@backstage/errors';
import { describeError } from './describeError';

describe('describeError', () => {
  it("gives a refused request's own sentence", async () => {
    const error = await ResponseError.fromResponse(
      new Response(
        JSON.stringify({
          error: {
            name: 'InputError',
            message: 'image: not a valid reference',
          },
          response: { statusCode: 400 },
        }),
        {
          status: 400,
          statusText: 'Bad Request',
          headers: { 'Content-Type': 'application/json' },
        },
      ),
    );
    expect(describeError(error)).toBe('image: not a valid reference');
  });

  it('adds the network failure that fetch keeps in its cause', () => {
    const error = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
        code: 'ECONNREFUSED',
      }),
    });
    expect(describeError(error)).toBe('fetch failed: ECONNREFUSED');
    const said = new Error('connect ECONNREFUSED 127.0.0.1:1', {
      cause: { code: 'ECONNREFUSED' },
    });
    expect(describeError(said)).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });

  it("gives an error's message, and anything else as text", () => {
    expect(describeError(new Error('No such image: shop:1'))).toBe(
      'No such image: shop:1',
    );
    expect(describeError({ message: 'from another realm' })).toBe(
      'from another realm',
    );
    expect(describeError('plain')).toBe('plain');
    expect(describeError(undefined)).toBe('undefined');
  });
});
