// Starts `target/debug/tally demo` on a free port over a fresh data
// directory and stops it again. The address is read from the banner's last
// line, "tally is listening on http://ADDR/ (Ctrl-C stops)".

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = process.env.TALLY_BIN || path.join(REPO, 'target/debug/tally');
/** Seeding 90 days takes ~25 s in a debug build; fewer days are enough here. */
const HISTORY_DAYS = process.env.TALLY_HISTORY_DAYS || '45';
const START_TIMEOUT_MS = 240_000;

function supportsHistoryDays() {
  const help = spawnSync(BIN, ['demo', '--help'], { encoding: 'utf8' });
  return (help.stdout || '').includes('--history-days');
}

export async function startTally() {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} does not exist: run \`cargo build -p tally\` first`);
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tally-browser-'));
  const args = ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log', 'warn'];
  if (supportsHistoryDays()) args.push('--history-days', HISTORY_DAYS);
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tally did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      const m = /tally is listening on (http:\/\/\S+?)\/? \(/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (c) => {
      output += c;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tally exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    baseUrl,
    dataDir,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timeout = new Promise((r) => setTimeout(r, 15_000, 'timeout'));
        if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
