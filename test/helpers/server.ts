/** A loopback HTTP server (127.0.0.1 only) that serves files the tests generate. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServer {
  baseUrl: string;
  requests: string[];
  close(): Promise<void>;
}

export interface Served {
  body: Buffer;
  /** Send only this many bytes, then drop the connection (an interrupted transfer). */
  cutAfter?: number;
}

export async function serveFiles(files: Record<string, Served>): Promise<FileServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
    requests.push(name);
    const file = files[name];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': file.body.length, 'content-type': 'application/octet-stream' });
    if (file.cutAfter === undefined) {
      // In chunks, so that progress is reported more than once.
      const step = Math.ceil(file.body.length / 8);
      for (let i = 0; i < file.body.length; i += step) res.write(file.body.subarray(i, i + step));
      res.end();
      return;
    }
    res.write(file.body.subarray(0, file.cutAfter), () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/models/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on loopback where nothing listens: the offline case. */
export async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/models/`;
}
