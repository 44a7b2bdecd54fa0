import net from 'node:net';

/** A TCP proxy in front of a server, whose connections a test can cut. */
export type TcpProxy = {
  url: string;
  /** Destroys every open connection, both sides, as a broken network would. */
  cut(): number;
  close(): Promise<void>;
};

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer(client => {
    const upstream = net.connect(Number(port), hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  const cut = () => {
    const count = pairs.size;
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    return count;
  };
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    cut,
    async close() {
      cut();
      await new Promise(resolve => server.close(resolve));
    },
  };
}
