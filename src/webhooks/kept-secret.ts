import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A `whsec_…` signing secret generated at first use and kept (mode 0600) in `<dataDir>/<fileName>`, so restarts
 * and every process sharing the data dir use the same one. When two processes race to create it, the first
 * file written wins and both return it.
 */
export function keptWebhookSecret(dataDir: string, fileName: string): string {
  const file = path.join(dataDir, fileName);
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (kept.startsWith('whsec_')) return kept;
  } catch {
    // Not there yet: create it below.
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch {
    return fs.readFileSync(file, 'utf8').trim();
  }
}
