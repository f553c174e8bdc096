import dgram from 'node:dgram';
import net from 'node:net';

function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.unref();
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** A port the OS says is free on `host` right now, for TCP and UDP alike (Serf binds both on its gossip port). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await freeTcpPort(host);
    if (await udpFree(host, port)) return port;
  }
}
