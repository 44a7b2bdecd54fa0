import http from 'node:http';
import net from 'node:net';

export type FakeRequest = {
  method: string;
  url: string;
  authorization?: string;
  body: unknown;
};

export type FakeBackend = {
  /** The base URL, for `RELEASE_COMMANDS_URL`. */
  url: string;
  /** What the CLI sent, in order. */
  requests: FakeRequest[];
  close(): Promise<void>;
};

/**
 * An HTTP server standing in for the backend, for answers the real one is
 * not needed for: each request gets the handler's status and JSON body.
 */
export async function startFakeBackend(
  answer: (request: FakeRequest) => { status: number; body: unknown },
): Promise<FakeBackend> {
  const requests: FakeRequest[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk));
    req.on('end', () => {
      const request: FakeRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
      };
      requests.push(request);
      const { status, body } = answer(request);
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise(resolve => server.close(() => resolve())),
  };
}
