import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMarketplaceWebhookConfig } from '../../src/payins/webhook-sink.ts';

describe('outgoing webhook configuration', () => {
  it('is off without BURSAR_WEBHOOK_URL', () => {
    expect(loadMarketplaceWebhookConfig({}, os.tmpdir())).toBeUndefined();
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() =>
      loadMarketplaceWebhookConfig({ BURSAR_WEBHOOK_URL: 'ftp://shop.example/hooks' }, os.tmpdir()),
    ).toThrow(/http\(s\)/);
    expect(() => loadMarketplaceWebhookConfig({ BURSAR_WEBHOOK_URL: 'not a url' }, os.tmpdir())).toThrow();
  });

  it('generates a whsec_ secret once and keeps it in the data dir when none is given', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-whsec-'));
    try {
      const env = { BURSAR_WEBHOOK_URL: 'https://shop.example/hooks' };
      const first = loadMarketplaceWebhookConfig(env, dataDir);
      const second = loadMarketplaceWebhookConfig(env, dataDir);
      expect(first?.secret).toMatch(/^whsec_/);
      expect(second?.secret).toBe(first?.secret);
      const given = loadMarketplaceWebhookConfig({ ...env, BURSAR_WEBHOOK_SECRET: 'whsec_given' }, dataDir);
      expect(given?.secret).toBe('whsec_given');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
