#!/usr/bin/env node
// Serves the visualizer on 127.0.0.1 for `npm start`: the web/ folder at /
// and Chart.js from node_modules at /vendor/. Nothing is fetched from
// elsewhere. Usage: node web/serve.js [--port N] (default 8080; 0 picks a free port).

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(webRoot, '..');
const MOUNTS = [
  ['/vendor/chart.js/', join(repoRoot, 'node_modules/chart.js/dist')],
  ['/', webRoot],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Maps a URL path to a file inside one of the mounts, or null. */
function resolvePath(urlPath) {
  for (const [prefix, dir] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const file = normalize(join(dir, decodeURIComponent(urlPath.slice(prefix.length))));
    if (file !== dir && !file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return null;
    return file;
  }
  return null;
}

export function startServer({ port = 8080, host = '127.0.0.1' } = {}) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, 'http://localhost');
    if (url.pathname === '/') {
      response.writeHead(302, { Location: '/app/' + url.search });
      response.end();
      return;
    }
    let file = resolvePath(url.pathname);
    try {
      if (file === null) throw Object.assign(new Error('outside the served folders'), { code: 'ENOENT' });
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      response.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-cache',
      });
      response.end(body);
    } catch (error) {
      const status = error.code === 'ENOENT' || error.code === 'ENOTDIR' ? 404 : 500;
      response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(status === 404 ? `not found: ${url.pathname}\n` : `server error: ${error.message}\n`);
      if (status === 500) console.error(`serve: ${url.pathname}: ${error.message}`);
    }
  });
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  const port = values.port === undefined ? Number(process.env.PORT ?? 8080) : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port is ${values.port}; expected an integer from 0 to 65535`);
    process.exit(2);
  }
  startServer({ port }).then((server) => {
    const { port: actual } = server.address();
    console.log(`rope-wasm visualizer: http://127.0.0.1:${actual}/app/`);
  }, (error) => {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${error.message}`);
    process.exit(1);
  });
}
